// Package rpc carries the roles' Go interfaces across processes: for each
// interface a gRPC server adapter over the local implementation and a
// client implementing the same interface that routes every call to the
// key's owner on the membership ring (history by shard, matching by
// task-queue partition). A call whose owner is this process goes to the
// local implementation directly: no network hop, no serialization.
// MatchingForwarder carries a child partition's work to the root's owner.
package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/persistence"
)

const (
	// defaultCallBound bounds the retries of a call whose context has no
	// deadline.
	defaultCallBound = 30 * time.Second
	retryMin         = 20 * time.Millisecond
	retryMax         = time.Second
)

// Conns dials the other processes' internal endpoints, one connection per
// address, kept until Close.
type Conns struct {
	creds credentials.TransportCredentials

	mu     sync.Mutex
	conns  map[string]*grpc.ClientConn
	closed bool
}

// NewConns returns a dialer; tlsCfg nil means plaintext.
func NewConns(tlsCfg *tls.Config) *Conns {
	creds := insecure.NewCredentials()
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	return &Conns{creds: creds, conns: map[string]*grpc.ClientConn{}}
}

func (c *Conns) get(addr string) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, serviceerror.NewUnavailable("rpc: shutting down")
	}
	if cc, ok := c.conns[addr]; ok {
		return cc, nil
	}
	if addr == "" {
		return nil, serviceerror.NewUnavailable("rpc: member has no internal address")
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(c.creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(128<<20), grpc.MaxCallSendMsgSize(128<<20)))
	if err != nil {
		return nil, err
	}
	c.conns[addr] = cc
	return cc, nil
}

// Close closes every connection.
func (c *Conns) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, cc := range c.conns {
		_ = cc.Close()
	}
	c.conns = nil
}

// route calls local when this process owns key of role (and runs it
// here), else remote on the owner's connection. It retries, re-resolving
// the owner, while the answer says ownership moved or the owner could not
// be reached, until ctx's deadline (or defaultCallBound); the last error is
// then returned, Unavailable for the public API.
func route(ctx context.Context, ring membership.Ring, conns *Conns, role, key string, hasLocal bool,
	local func(context.Context) error, remote func(context.Context, *grpc.ClientConn) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultCallBound)
		defer cancel()
	}
	wait := retryMin
	var moved error // the last retryable answer
	for {
		changed := ring.Changed(role)
		err := callOwner(ctx, ring, conns, role, key, hasLocal, local, remote)
		if err != nil && moved != nil && ctx.Err() != nil {
			// The deadline passed while ownership was moving.
			return unavailable(moved)
		}
		if err == nil || !retryable(err) {
			return err
		}
		moved = err
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return unavailable(err)
		case <-changed:
			t.Stop()
		case <-t.C:
		}
		wait = min(2*wait, retryMax)
	}
}

func callOwner(ctx context.Context, ring membership.Ring, conns *Conns, role, key string, hasLocal bool,
	local func(context.Context) error, remote func(context.Context, *grpc.ClientConn) error) error {
	owner, err := ring.Lookup(role, key)
	if err != nil {
		return errNoOwner{role: role, err: err}
	}
	if self, ok := ring.Self(role); ok && hasLocal && self.Identity == owner.Identity {
		return local(ctx)
	}
	cc, err := conns.get(owner.RPCAddress)
	if err != nil {
		return err
	}
	return remote(ctx, cc)
}

// errNoOwner: no live member runs the role right now.
type errNoOwner struct {
	role string
	err  error
}

func (e errNoOwner) Error() string { return "no " + e.role + " host available: " + e.err.Error() }
func (e errNoOwner) Unwrap() error { return e.err }

// retryable: ownership moved, no owner yet, or the owner could not be
// reached (the call did not run there, or is safe to repeat: the roles'
// writes are idempotent by request ID, task token or poll request ID). A
// shard or task-queue lease lost means the write was fenced off: the ring
// moved the key and the new owner takes the call; a history role shutting
// down refused the call before doing anything (its process is leaving).
// err is as FromStatus returns it.
func retryable(err error) bool {
	var noOwner errNoOwner
	var unavail *serviceerror.Unavailable
	var shardLost *persistence.ShardOwnershipLostError
	var leaseLost *persistence.TaskQueueLeaseLostError
	return errors.Is(err, ErrNotOwner) || errors.As(err, &noOwner) || errors.As(err, &unavail) ||
		errors.As(err, &shardLost) || errors.As(err, &leaseLost) || errors.Is(err, history.ErrShuttingDown)
}

// unavailable is what a call that ran out of time while ownership moved
// returns: retryable (Unavailable) for the public API.
func unavailable(err error) error {
	var noOwner errNoOwner
	if errors.Is(err, ErrNotOwner) || errors.As(err, &noOwner) {
		return serviceerror.NewUnavailable(err.Error())
	}
	return err
}
