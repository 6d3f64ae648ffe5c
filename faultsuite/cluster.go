package faultsuite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/pki"
)

// Prefix starts the name of every container, network and directory the
// suite makes.
const Prefix = "chainfs-"

// subnet is the private network of a schedule's cluster: fixed addresses,
// so that a container reconnected after a partition gets its address back
// (its listeners are bound to it).
const subnet = "172.31.77.0/24"

// The cluster's processes: masters, the chain's initial members, the
// spare node, the load program.
var (
	masterNames = []string{"m1", "m2", "m3"}
	nodeNames   = []string{"n1", "n2", "n3"}
	spare       = "n4"
)

// ip returns the fixed address of a process.
func ip(name string) string {
	switch name[0] {
	case 'm':
		return "172.31.77.1" + name[1:]
	case 'n':
		return "172.31.77.2" + name[1:]
	}
	return "172.31.77.30"
}

// Cluster is one schedule's containers on their private network, with
// their volumes in a directory of the host.
type Cluster struct {
	ID    string // names the network; each container is ID-name
	Dir   string // the host's directory: pki/, out/, and one volume per process
	Image string
	FT    time.Duration // the masters' failure timeout
	Logf  func(format string, args ...any)

	cut *linkCut // the one-link cut in place, if any
}

// Name returns the container name of a process.
func (c *Cluster) Name(proc string) string { return c.ID + "-" + proc }

// docker runs the docker CLI with args and returns its output; an error
// says what it printed.
func docker(ctx context.Context, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// DockerWorks reports whether the docker CLI reaches an engine.
func DockerWorks(ctx context.Context) error {
	_, err := docker(ctx, "info", "--format", "{{.ServerVersion}}")
	return err
}

// RemoveLeftovers removes every container and network named Prefix*,
// and every iptables rule of a cut tagged so, such as an interrupted run
// leaves.
func RemoveLeftovers(ctx context.Context) error {
	if err := removeTaggedRules(ctx, func(tag string) bool { return strings.HasPrefix(tag, Prefix) }); err != nil {
		return err
	}
	out, err := docker(ctx, "ps", "-aq", "--filter", "name=^"+Prefix)
	if err != nil {
		return err
	}
	if ids := strings.Fields(out); len(ids) > 0 {
		if _, err := docker(ctx, append([]string{"rm", "-f"}, ids...)...); err != nil {
			return err
		}
	}
	out, err = docker(ctx, "network", "ls", "-q", "--filter", "name=^"+Prefix)
	if err != nil {
		return err
	}
	if ids := strings.Fields(out); len(ids) > 0 {
		_, err = docker(ctx, append([]string{"network", "rm"}, ids...)...)
	}
	return err
}

// Start makes the certificates and volumes, the network, and starts the
// masters, the nodes, the spare and the load program.
func (c *Cluster) Start(ctx context.Context, seed uint64) error {
	for _, d := range append(append([]string{"pki", "out", spare}, masterNames...), nodeNames...) {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o755); err != nil {
			return fmt.Errorf("cluster directory: %w", err)
		}
	}
	if err := c.writeCerts(); err != nil {
		return err
	}
	if _, err := docker(ctx, "network", "create", "--internal", "--subnet", subnet, c.ID); err != nil {
		return err
	}
	masters, peers := c.masterAddrs()
	members := make([]string, len(nodeNames))
	for i, n := range nodeNames {
		members[i] = n + "=" + n + ":7001"
	}
	tls := func(file string) []string {
		return []string{"-tls-cert", "/pki/" + file + ".pem", "-tls-key", "/pki/" + file + "-key.pem", "-tls-ca", "/pki/ca.pem"}
	}
	ft := c.FT.String()
	for _, m := range masterNames {
		args := append([]string{"chaind", "-master", "-listen", m + ":7000", "-raft", m + ":7100", "-peers", peers,
			"-members", strings.Join(members, ","), "-data", "/data", "-failure-timeout", ft}, tls("master-"+m)...)
		if err := c.run(ctx, m, args...); err != nil {
			return err
		}
	}
	for _, n := range append(append([]string{}, nodeNames...), spare) {
		args := []string{"chaind", "-id", n, "-master", masters, "-data", "/data"}
		if n == spare {
			args = append(args, "-addr", n+":7001")
		} else {
			args = append(args, "-members", strings.Join(members, ","))
		}
		if err := c.run(ctx, n, append(args, tls("node-"+n)...)...); err != nil {
			return err
		}
	}
	return c.run(ctx, "load", append([]string{"load", "-master", masters, "-out", "/out",
		"-seed", fmt.Sprint(seed)}, tls("admin-load")...)...)
}

// masterAddrs returns the masters' addresses (-master) and their -peers.
func (c *Cluster) masterAddrs() (string, string) {
	var addrs, peers []string
	for _, m := range masterNames {
		addrs = append(addrs, m+":7000")
		peers = append(peers, m+":7000="+m+":7100")
	}
	return strings.Join(addrs, ","), strings.Join(peers, ",")
}

// run starts the container of proc, its volume at /data (the load
// program's output directory at /out) and the certificates at /pki.
func (c *Cluster) run(ctx context.Context, proc string, cmd ...string) error {
	vol := filepath.Join(c.Dir, proc) + ":/data"
	if proc == "load" {
		vol = filepath.Join(c.Dir, "out") + ":/out"
	}
	args := []string{"run", "-d", "--name", c.Name(proc), "--hostname", proc, "--network", c.ID,
		"--ip", ip(proc), "--network-alias", proc, "-e", "TMPDIR=/out",
		"-v", vol, "-v", filepath.Join(c.Dir, "pki") + ":/pki:ro", c.Image}
	_, err := docker(ctx, append(args, cmd...)...)
	return err
}

// writeCerts makes the CA and a certificate per process with
// internal/pki, as chainctl certs does.
func (c *Cluster) writeCerts() error {
	const validFor = 24 * time.Hour
	ca, err := pki.NewCA("chainfs CA", validFor)
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	dir := filepath.Join(c.Dir, "pki")
	write := func(role auth.Role, name string, addrs ...string) error {
		_, err := ca.IssueFiles(dir, role, name, validFor, false, addrs...)
		return err
	}
	errs := []error{os.WriteFile(filepath.Join(dir, "ca.pem"), pki.CertPEM(ca.Cert), 0o644), write(auth.RoleAdmin, "load")}
	for _, m := range masterNames {
		errs = append(errs, write(auth.RoleMaster, m, m+":7000", m+":7100"))
	}
	for _, n := range append(append([]string{}, nodeNames...), spare) {
		errs = append(errs, write(auth.RoleNode, n, n+":7001"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	return nil
}

// Remove removes the containers, the network, the directory and any cut
// (its iptables rules, the bridge switch put back), whatever state they
// are in.
func (c *Cluster) Remove(ctx context.Context) error {
	errs := []error{c.healLink(ctx), removeTaggedRules(ctx, func(tag string) bool { return tag == c.ID })}
	out, err := docker(ctx, "ps", "-aq", "--filter", "name=^"+c.ID+"-")
	errs = append(errs, err)
	if ids := strings.Fields(out); len(ids) > 0 {
		_, err := docker(ctx, append([]string{"rm", "-f", "-v"}, ids...)...)
		errs = append(errs, err)
	}
	if _, err := docker(ctx, "network", "inspect", c.ID); err == nil {
		_, err := docker(ctx, "network", "rm", c.ID)
		errs = append(errs, err)
	}
	errs = append(errs, os.RemoveAll(c.Dir))
	return errors.Join(errs...)
}

// View reads the load program's last view of the cluster.
func (c *Cluster) View() (View, error) {
	var v View
	b, err := os.ReadFile(filepath.Join(c.Dir, "out", "view.json"))
	if err != nil {
		return v, fmt.Errorf("view: %w", err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("view: %w", err)
	}
	return v, nil
}

// Logs returns the last lines a container printed.
func (c *Cluster) Logs(ctx context.Context, proc string, lines int) string {
	out, _ := docker(ctx, "logs", "--tail", fmt.Sprint(lines), c.Name(proc))
	return out
}
