package master

// Unauthorized returns the number of messages the master refused because
// their sender's verified identity may not send them (see package auth):
// a heartbeat for another node, a server beat for another server, an
// admin request from anyone but an admin. Without an authenticating
// transport (no TLS) nothing is refused.
func (m *Master) Unauthorized() uint64 { return m.guard.Refused() }
