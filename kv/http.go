package kv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/chainrep/chain"
)

// NewHTTPHandler returns an HTTP API over c:
//
//	GET    /kv/{key}      200 with the value as the body, 404 if absent
//	PUT    /kv/{key}      body is the value; 204
//	DELETE /kv/{key}      204 if the key existed, 404 if it did not
//	POST   /kv/{key}/cas  JSON {"expected": "...", "expected_found": bool, "value": "..."}
//	                      -> 200 JSON {"swapped": bool}
//
// {key} is one path segment, unescaped (a key containing "/" is sent as
// %2F). The CAS body is one JSON object with no other fields;
// "expected_found" and "value" are required and "expected" defaults to "".
// Since they are JSON strings, CAS suits values that are valid UTF-8 text.
//
// Each request gets a context bounded by the request timeout, and its body
// must arrive within that timeout too (a read deadline on the connection).
// Errors are plain text (internal errors are logged, not described): 400
// for bad input (bad key, malformed JSON), 408 for a body that does not
// arrive in time (shorter than its Content-Length, say), 413 for a value
// over the size limit (or one the chain refuses as too large), 503 when
// the chain is busy, closed or does not answer in time, 500 otherwise.
// Other methods on these paths get 405. A server should still set its own
// ReadHeaderTimeout and ReadTimeout.
func NewHTTPHandler(c *Client, opts ...HTTPOption) http.Handler {
	h := &httpHandler{kv: c, cfg: newHTTPConfig(opts)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /kv/{key}", h.get)
	mux.HandleFunc("PUT /kv/{key}", h.put)
	mux.HandleFunc("DELETE /kv/{key}", h.delete)
	mux.HandleFunc("POST /kv/{key}/cas", h.cas)
	return mux
}

type httpHandler struct {
	kv  *Client
	cfg httpConfig
}

// casBody is the request of POST /kv/{key}/cas.
type casBody struct {
	Expected      string  `json:"expected"`
	ExpectedFound *bool   `json:"expected_found"`
	Value         *string `json:"value"`
}

// casReply is the response of POST /kv/{key}/cas.
type casReply struct {
	Swapped bool `json:"swapped"`
}

func (h *httpHandler) get(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.timeout)
	defer cancel()
	v, found, err := h.kv.Get(ctx, r.PathValue("key"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !found {
		http.Error(w, "key not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(v)))
	_, _ = w.Write(v)
}

func (h *httpHandler) put(w http.ResponseWriter, r *http.Request) {
	value, err := h.readBody(w, r, h.cfg.maxValue)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.timeout)
	defer cancel()
	if err := h.kv.Put(ctx, r.PathValue("key"), value); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *httpHandler) delete(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.timeout)
	defer cancel()
	existed, err := h.kv.Delete(ctx, r.PathValue("key"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !existed {
		http.Error(w, "key not found", http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *httpHandler) cas(w http.ResponseWriter, r *http.Request) {
	// Two values and JSON syntax; escapes may make a legal value's JSON
	// larger than the value, so the body limit leaves room.
	raw, err := h.readBody(w, r, 4*h.cfg.maxValue+4096)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	body, err := parseCAS(raw, h.cfg.maxValue)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.timeout)
	defer cancel()
	swapped, err := h.kv.CompareAndSet(ctx, r.PathValue("key"),
		[]byte(body.Expected), *body.ExpectedFound, []byte(*body.Value))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(casReply{Swapped: swapped})
}

// parseCAS decodes and checks a CAS request body.
func parseCAS(raw []byte, maxValue int64) (casBody, error) {
	var body casBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return body, fmt.Errorf("cas body: %w: %w", chain.ErrInvalidArgument, err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return body, fmt.Errorf("cas body: %w: data after the JSON object", chain.ErrInvalidArgument)
	}
	switch {
	case body.ExpectedFound == nil:
		return body, fmt.Errorf("cas body: %w: missing \"expected_found\"", chain.ErrInvalidArgument)
	case body.Value == nil:
		return body, fmt.Errorf("cas body: %w: missing \"value\"", chain.ErrInvalidArgument)
	case int64(len(body.Expected)) > maxValue || int64(len(*body.Value)) > maxValue:
		return body, fmt.Errorf("cas body: %w: value over %d bytes", chain.ErrTooLarge, maxValue)
	}
	return body, nil
}

// errBodyTimeout is wrapped by the error of a body that did not arrive
// within the request timeout (answered 408).
var errBodyTimeout = errors.New("request body not received in time")

// readBody reads the request body, refusing more than limit bytes with an
// error wrapping chain.ErrTooLarge. The read must end within the request
// timeout: a body shorter than its Content-Length would otherwise hold
// the handler (and its connection) until the client goes away. Where the
// connection does not take a read deadline (http.ErrNotSupported, as
// under some test servers), the server's own ReadTimeout bounds the read.
func (h *httpHandler) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("body: %w: %d bytes over %d", chain.ErrTooLarge, r.ContentLength, limit)
	}
	rc := http.NewResponseController(w)
	deadline := rc.SetReadDeadline(time.Now().Add(h.cfg.timeout)) == nil
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err == nil && deadline {
		// Lift the deadline: once the body is read, the server reads the
		// connection in the background to notice a client that goes away,
		// and a deadline passing there would cancel the request.
		_ = rc.SetReadDeadline(time.Time{})
	}
	if err != nil {
		// The rest of the body is not worth reading: close the connection
		// after the answer rather than have the server drain it.
		w.Header().Set("Connection", "close")
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, fmt.Errorf("body: %w: over %d bytes", chain.ErrTooLarge, limit)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("read body: %w within %v (%d of %d bytes)", errBodyTimeout, h.cfg.timeout, len(b), r.ContentLength)
		}
		return nil, fmt.Errorf("read body: %w: %w", chain.ErrInvalidArgument, err)
	}
	return b, nil
}

// fail writes the error response for err. Internal errors are logged and
// answered without detail; other errors are explained to the caller.
func (h *httpHandler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := statusFor(err)
	msg := err.Error()
	if code == http.StatusInternalServerError {
		h.cfg.logger.Error("kv http request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	http.Error(w, msg, code)
}

// statusFor maps an error to its HTTP status.
func statusFor(err error) int {
	switch {
	case errors.Is(err, errBodyTimeout):
		return http.StatusRequestTimeout
	case errors.Is(err, chain.ErrInvalidArgument):
		return http.StatusBadRequest
	case errors.Is(err, chain.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, chain.ErrBusy),
		errors.Is(err, chain.ErrClosed),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}
