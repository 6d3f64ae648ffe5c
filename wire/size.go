package wire

// Allowances SizeHint adds for what it does not count byte by byte: a
// message's fixed fields, and an entry's or response's.
const (
	messageAllowance = 96
	itemAllowance    = 96
)

// SizeHint returns about how many bytes m takes encoded: the bytes of its
// payloads (entries' data, commands' names, results, request data) plus
// a fixed allowance per message and per entry, request or response. It
// never undercounts a payload, costs no encoding, and gives the same
// answer for the same message, so a transport can bound by bytes what it
// holds for a peer, adding SizeHint when it queues a message and taking
// it away when it writes it.
func SizeHint(m Message) int {
	switch m := m.(type) {
	case *ClientRequest:
		return messageAllowance + requestSize(m)
	case *RequestBatch:
		n := messageAllowance
		for i := range m.Requests {
			n += itemAllowance + requestSize(&m.Requests[i])
		}
		return n
	case *ClientResponse:
		return messageAllowance + responseSize(m)
	case *ResponseBatch:
		n := messageAllowance
		for i := range m.Responses {
			n += itemAllowance + responseSize(&m.Responses[i])
		}
		return n
	case *PullResponse:
		return messageAllowance + entriesSize(m.Entries) + errSize(m.Err)
	case *Envelope:
		n := messageAllowance + len(m.From) + len(m.To)
		if m.Msg != nil {
			n += SizeHint(m.Msg)
		}
		return n
	}
	return messageAllowance
}

func requestSize(r *ClientRequest) int { return len(r.Name) + len(r.Data) }

func responseSize(r *ClientResponse) int {
	n := len(r.Result) + entriesSize(r.Entries) + errSize(r.Err)
	if r.Status != nil {
		n += messageAllowance * (1 + len(r.Status.Members))
	}
	return n
}

func entriesSize(es []Entry) int {
	n := 0
	for i := range es {
		n += itemAllowance + len(es[i].Client) + len(es[i].Command) + len(es[i].Data)
	}
	return n
}

func errSize(e *RemoteError) int {
	if e == nil {
		return 0
	}
	return itemAllowance + len(e.Message) + len(e.Redirect)
}
