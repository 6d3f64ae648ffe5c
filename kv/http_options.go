package kv

import (
	"log/slog"
	"time"
)

// Defaults of the HTTP handler.
const (
	// DefaultRequestTimeout bounds the chain call of one HTTP request.
	DefaultRequestTimeout = 5 * time.Second
	// DefaultMaxValueBytes bounds a value sent over HTTP. It stays below
	// chain.DefaultMaxEntrySize so that an encoded put fits in one entry.
	DefaultMaxValueBytes = 512 << 10
)

// HTTPOption configures NewHTTPHandler.
type HTTPOption func(*httpConfig)

type httpConfig struct {
	timeout  time.Duration
	maxValue int64
	logger   *slog.Logger
}

func newHTTPConfig(opts []HTTPOption) httpConfig {
	cfg := httpConfig{
		timeout:  DefaultRequestTimeout,
		maxValue: DefaultMaxValueBytes,
		logger:   slog.Default(),
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	return cfg
}

// WithRequestTimeout sets how long one request may wait for the chain; a
// request that runs out of time gets 503. Non-positive values are ignored.
func WithRequestTimeout(d time.Duration) HTTPOption {
	return func(c *httpConfig) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithMaxValueBytes sets the largest value a PUT or CAS request may carry;
// larger ones get 413. Non-positive values are ignored.
func WithMaxValueBytes(n int64) HTTPOption {
	return func(c *httpConfig) {
		if n > 0 {
			c.maxValue = n
		}
	}
}

// WithLogger sets the logger of internal errors (responses with status
// 500); the default is slog.Default(). A nil logger is ignored.
func WithLogger(l *slog.Logger) HTTPOption {
	return func(c *httpConfig) {
		if l != nil {
			c.logger = l
		}
	}
}
