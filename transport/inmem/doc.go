// Package inmem provides an in-memory chain.Transport for tests, with fault
// injection that the tests drive.
//
// A Network connects the endpoints opened on it with Listen. Every message
// is copied by encoding: Send encodes it with wire.EncodeMessage and the
// receiver gets the result of wire.DecodeMessage, so nodes never share
// memory through the transport and the wire codec is exercised on every
// message.
//
// Delivery is best effort, as on a real network. Send never blocks; a
// message is dropped (and counted in Stats) when its destination is unknown
// or closed, when a partition separates the endpoints, when a fault drops
// it, or when the destination's inbox is full. Partition, PartitionOneWay,
// Isolate and Heal cut and restore links; SetFaults makes messages be
// dropped, duplicated, delayed or reordered at random, from a source seeded
// with Options.Seed so that a run is reproducible for a given seed and
// message order. AddRule gives the messages of one link, direction or
// message kind faults of their own (a master's replies delayed, a node's
// pulls dropped, a one-way cut that is removed alone).
//
// For simulations of whole clusters a Network also models processes:
// Hold pauses an address (what reaches it and what it sends wait, then go
// in a burst on Release), Crash kills an endpoint at once as a process
// death would, SetDialedOnly makes clients reachable only from the
// addresses they have sent to (as over TCP connections), and SetTap lets
// a test see every message as it is sent, to act at a chosen moment.
//
// A Network has no global state: tests may run any number of them in
// parallel.
package inmem
