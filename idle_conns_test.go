package chain_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/tcp"
	"github.com/chainrep/chain/wire"
)

// startTCPChain starts a static chain of three nodes on loopback TCP, the
// transport of node i with the options set makes, and a client of it; it
// returns the configuration, the nodes' transports and the client.
func startTCPChain(t *testing.T, set func(i int, o *tcp.Options)) (chain.Config, []*tcp.Transport, *chain.Client) {
	t.Helper()
	members, err := launch.FreeLocalMembers(3)
	require.NoError(t, err)
	cfg := chain.Config{Epoch: 1, Members: members}
	var trs []*tcp.Transport
	for i, m := range members {
		var o tcp.Options
		set(i, &o)
		tr := tcp.New(o)
		t.Cleanup(func() { _ = tr.Close() })
		trs = append(trs, tr)
		n, err := chain.NewNode(m.ID, chain.WithTransport(tr), chain.WithStorage(memory.New()), chain.WithConfig(cfg))
		require.NoError(t, err)
		require.NoError(t, n.Start(t.Context()))
		t.Cleanup(func() { _ = n.Close() })
	}
	clientTr := tcp.New(tcp.Options{})
	t.Cleanup(func() { _ = clientTr.Close() })
	client, err := chain.NewClient(chain.WithTransport(clientTr), chain.WithConfig(cfg))
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	return cfg, trs, client
}

// idleHelperEnv, set to "ADDR COUNT", makes the test binary the idle
// connections' process (see runIdleHelper): the test's own process could
// not hold both ends of 10,000 connections within its descriptor limit.
const idleHelperEnv = "CHAIN_TEST_IDLE_CONNS"

// raiseFileLimit raises the soft limit on open files to the hard limit
// and returns the limit now in force.
func raiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return lim.Cur, nil
}

// idleBatch is how many connections the idle helper opens before it
// waits for the node to have accepted them.
const idleBatch = 500

// runIdleHelper opens COUNT connections to ADDR from 127.0.0.2, sends on
// each a hello claiming a client address of its own (the costlier kind:
// the node makes it a route back to the client), prints how many it
// opened, and holds them, silent, until its standard input closes. After
// each idleBatch connections it prints "dialled N" and waits for a line
// on its standard input.
func runIdleHelper() int {
	addr, count, _ := strings.Cut(os.Getenv(idleHelperEnv), " ")
	n, err := strconv.Atoi(count)
	if err != nil {
		fmt.Println("bad count:", err)
		return 2
	}
	if _, err := raiseFileLimit(); err != nil {
		fmt.Println("raise the file limit:", err)
		return 2
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: time.Minute}
	conns := make([]net.Conn, 0, n)
	in := bufio.NewReader(os.Stdin)
	for i := range n {
		if i > 0 && i%idleBatch == 0 {
			// Wait for the node to have taken the batch off its accept
			// queue, which holds only so many (net.core.somaxconn): the
			// kernel drops the handshakes beyond it, and a busy node
			// takes them only at the client's retransmits.
			fmt.Println("dialled", i)
			if _, err := in.ReadString('\n'); err != nil {
				return 2
			}
		}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			fmt.Println("dial:", err)
			return 2
		}
		conns = append(conns, c)
		claim := fmt.Sprintf("client-%032x", i)
		hello := append([]byte{0x80, 'c', 'h', 'n', 1}, claim...)
		// A connection the node refused may be closed already.
		_, _ = c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(hello))), hello...))
	}
	fmt.Println("opened", len(conns))
	_, _ = in.ReadString('\n')
	for _, c := range conns {
		_ = c.Close()
	}
	return 0
}

// memInUse returns the heap and the goroutine stacks in use after a
// collection.
func memInUse() (heap, stacks int64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse), int64(ms.StackInuse)
}

// TestTenThousandIdleConnections: 10,000 idle connections (2,000 under
// the race detector, see idleConns) to the head of
// a chain on loopback TCP, each having sent its hello and nothing since,
// cost the node a bounded number of goroutines and bytes each; those
// beyond the head's MaxConnsPerHost are closed at once; and the chain
// keeps serving appends throughout, over the connections it had (which
// come from another host, 127.0.0.1, and fit in MaxConns).
func TestTenThousandIdleConnections(t *testing.T) {
	const idle, extra = idleConns, 200
	// Bounds per idle connection: three goroutines (the reader, the
	// route's writer and pump) and their stacks; on the heap, the
	// connection, its small read buffer and the route (about 5 KiB: the
	// large buffers are taken only while data flows).
	const goroutinesPer, heapPer, stackPer = 3, 12 << 10, 3 * 16 << 10
	limit, err := raiseFileLimit()
	require.NoError(t, err)
	require.Greater(t, limit, uint64(idle+1000), "the open files limit (hard %d) cannot hold %d connections", limit, idle)

	cfg, trs, client := startTCPChain(t, func(i int, o *tcp.Options) {
		if i == 0 {
			o.MaxConns, o.MaxConnsPerHost = idle+50, idle
		}
	})
	headTr := trs[0]
	// Bounds the test, however busy the machine: 10,000 dials and accepts.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	appendN := func(k int, what string) {
		t.Helper()
		for i := range k {
			_, err := client.Append(ctx, []byte(fmt.Sprintf("%s %d", what, i)))
			require.NoError(t, err, what)
		}
	}
	appendN(10, "before")
	baseConns, baseRejected := headTr.Stats().Conns, headTr.Stats().Rejected
	baseG := runtime.NumGoroutine()
	baseHeap, baseStacks := memInUse()

	helper := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), idleHelperEnv+"="+cfg.Head().Addr+" "+strconv.Itoa(idle+extra))
	stdin, err := helper.StdinPipe()
	require.NoError(t, err)
	stdout, err := helper.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, helper.Start())
	t.Cleanup(func() { _ = stdin.Close(); _ = helper.Wait() })
	out := bufio.NewReader(stdout)
	for dialled := idleBatch; dialled < idle+extra; dialled += idleBatch {
		line, err := out.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("dialled %d\n", dialled), line)
		waitFor(t, func() bool {
			s := headTr.Stats()
			return int(s.Conns-baseConns)+int(s.Rejected-baseRejected) >= dialled
		}, "the head took %d of the first %d connections", int(headTr.Stats().Conns-baseConns)+int(headTr.Stats().Rejected-baseRejected), dialled)
		_, err = io.WriteString(stdin, "\n")
		require.NoError(t, err)
	}
	line, err := out.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("opened %d\n", idle+extra), line)

	// Every connection is accepted or refused: idle are held, extra closed.
	waitFor(t, func() bool {
		s := headTr.Stats()
		return s.Conns == baseConns+idle && s.Rejected >= baseRejected+extra
	}, "the head holds %d connections, refused %d", headTr.Stats().Conns-baseConns, headTr.Stats().Rejected-baseRejected)
	appendN(50, "with the idle connections open")

	g := runtime.NumGoroutine()
	heap, stacks := memInUse()
	heap, stacks = heap-baseHeap, stacks-baseStacks
	t.Logf("%d idle connections: %+d goroutines (%.2f each), %+d heap bytes (%d each), %+d stack bytes (%d each)",
		idle, g-baseG, float64(g-baseG)/idle, heap, heap/idle, stacks, stacks/idle)
	require.LessOrEqual(t, g-baseG, goroutinesPer*idle+100, "goroutines")
	require.LessOrEqual(t, heap, int64(heapPer*idle), "heap")
	require.LessOrEqual(t, stacks, int64(stackPer*idle), "stacks")
	require.Equal(t, baseConns+idle, headTr.Stats().Conns, "connections beyond MaxConnsPerHost were kept")

	require.NoError(t, stdin.Close())
	require.NoError(t, helper.Wait())
	waitFor(t, func() bool { return headTr.Stats().Conns == baseConns }, "the closed connections were not released")
	appendN(10, "after")
}

// TestClientThatNeverReadsIsCutOff: a client that asks the tail for
// hundreds of large reads (each up to the node's batch bytes, some 400
// MiB in all) and never reads a reply is disconnected by the tail once
// its waiting replies pass the transport's byte bound; the tail holds
// no more for it, and the chain goes on serving another client's appends
// and reads, before, during and after.
func TestClientThatNeverReadsIsCutOff(t *testing.T) {
	cfg, trs, client := startTCPChain(t, func(int, *tcp.Options) {})
	tailTr := trs[len(trs)-1]
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	value := bytes.Repeat([]byte("v"), 128<<10)
	for range 16 {
		_, err := client.Append(ctx, value)
		require.NoError(t, err)
	}

	// The hostile client: its endpoint's inbox holds one message and no
	// one takes it, so its connection stops reading, then the socket's
	// buffers fill, and the tail's replies wait.
	hostileTr := tcp.New(tcp.Options{InboxSize: 1})
	t.Cleanup(func() { _ = hostileTr.Close() })
	hostile, err := hostileTr.Listen("")
	// The tail's connections before the hostile client's: the predecessor
	// it pulls from and the other client. (The hostile client's own end
	// cannot tell: its reader waits on the full inbox and never reads the
	// close.)
	tailConns := tailTr.Stats().Conns
	require.NoError(t, err)
	tail := cfg.Tail().Addr
	const reads = 400
	for i := range reads {
		req := &wire.ClientRequest{Op: wire.OpRead, ID: uint64(i + 1), From: 1, Max: 16}
		require.NoError(t, hostile.Send(ctx, tail, req), "read request %d", i)
		if i%50 == 0 {
			_, err := client.Append(ctx, []byte(fmt.Sprintf("during %d", i)))
			require.NoError(t, err)
		}
	}
	waitFor(t, func() bool { return tailTr.Stats().Dropped > 0 }, "the tail dropped no reply to the client that does not read")
	waitFor(t, func() bool { return tailTr.Stats().Conns == tailConns },
		"the tail did not close the connection of the client that does not read (%d connections, %d before it)", tailTr.Stats().Conns, tailConns)
	// What the tail wrote before it cut the client off is bounded by the
	// byte bound and the sockets' buffers, far below what was asked.
	st := tailTr.Stats()
	require.Less(t, st.BytesSent, uint64(reads*len(value)*16/4), "the tail wrote %d bytes", st.BytesSent)

	for i := range 10 {
		_, err := client.Append(ctx, []byte(fmt.Sprintf("after %d", i)))
		require.NoError(t, err)
	}
	ents, err := client.Read(ctx, 1, 2)
	require.NoError(t, err)
	require.Len(t, ents, 2)
	require.Equal(t, value, ents[0].Data)
}
