package tests

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netLab is a private network of hosts, each a network namespace of its
// own joined to one bridge in a hub namespace by a veth pair. Every
// address lives inside the lab's namespaces (10.231.0.0/24); the machine's
// own namespace gets no interface and no address. A host is cut off from
// all the others by taking its veth link down in the hub, and healed by
// bringing it up. Needs root and iproute2; everything is deleted when the
// test ends.
type netLab struct {
	t      *testing.T
	prefix string
	hub    string
	hosts  map[string]*labHost
}

type labHost struct {
	ns   string // namespace name
	link string // the hub end of its veth pair
	ip   string
}

// newNetLab makes the hub and one host per name, numbered from 10.231.0.1
// in order. It skips when not root (namespaces need CAP_SYS_ADMIN) and
// fails when root cannot make them.
func newNetLab(t *testing.T, names ...string) *netLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespace tests need root (ip netns add)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("ip (iproute2) not found: install iproute2")
	}
	l := &netLab{t: t, prefix: fmt.Sprintf("sdl%d", os.Getpid()%100000), hosts: map[string]*labHost{}}
	l.hub = l.prefix + "-hub"
	t.Cleanup(l.remove)
	l.ip("netns", "add", l.hub)
	l.ip("-n", l.hub, "link", "add", "br0", "type", "bridge")
	l.ip("-n", l.hub, "link", "set", "br0", "up")
	for i, name := range names {
		h := &labHost{ns: l.prefix + "-" + name, link: fmt.Sprintf("%sv%d", l.prefix, i), ip: fmt.Sprintf("10.231.0.%d", i+1)}
		l.hosts[name] = h
		l.ip("netns", "add", h.ns)
		l.ip("-n", l.hub, "link", "add", h.link, "type", "veth", "peer", "name", "eth0", "netns", h.ns)
		l.ip("-n", l.hub, "link", "set", h.link, "master", "br0", "up")
		l.ip("-n", h.ns, "addr", "add", h.ip+"/24", "dev", "eth0")
		l.ip("-n", h.ns, "link", "set", "eth0", "up")
		l.ip("-n", h.ns, "link", "set", "lo", "up")
	}
	return l
}

func (l *netLab) ip(args ...string) {
	l.t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// remove deletes every namespace of the lab (their interfaces go with
// them). Processes still inside keep theirs alive until they exit; the
// tests kill theirs first.
func (l *netLab) remove() {
	for _, h := range l.hosts {
		_ = exec.Command("ip", "netns", "del", h.ns).Run()
	}
	_ = exec.Command("ip", "netns", "del", l.hub).Run()
}

func (l *netLab) host(name string) *labHost {
	h, ok := l.hosts[name]
	if !ok {
		l.t.Fatalf("no lab host %q", name)
	}
	return h
}

// cut takes host's link to the bridge down: its packets, and those sent
// to it, are dropped, with no reset, as when a cable or switch port fails.
func (l *netLab) cut(name string) { l.ip("-n", l.hub, "link", "set", l.host(name).link, "down") }

// heal brings host's link back up.
func (l *netLab) heal(name string) { l.ip("-n", l.hub, "link", "set", l.host(name).link, "up") }

// prefixCmd is the argv prefix that runs a program inside host.
func (l *netLab) prefixCmd(name string) []string {
	return []string{"ip", "netns", "exec", l.host(name).ns}
}

// dial opens a connection from inside host's namespace: the socket is
// made on an OS thread moved into the namespace, and stays there. The
// thread is never moved back: its goroutine ends locked, so the Go
// runtime retires the thread.
func (l *netLab) dial(name string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	path := "/var/run/netns/" + l.host(name).ns
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: see above
			f, err := os.Open(path)
			if err != nil {
				ch <- result{err: err}
				return
			}
			defer f.Close()
			if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
				ch <- result{err: fmt.Errorf("setns %s: %w", path, err)}
				return
			}
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			ch <- result{c, err}
		}()
		r := <-ch
		return r.c, r.err
	}
}

// httpClient is an HTTP client whose connections start inside host.
func (l *netLab) httpClient(name string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: l.dial(name), DisableKeepAlives: true},
		Timeout: 10 * time.Second}
}
