package sqltest

import (
	"context"
	"net"
	"sync/atomic"
)

// RoundTrips counts client-server round trips on the connections it
// dials: a read that follows a write on the same connection starts one.
// Set Dial as sqlstore.ServerOptions.Dial.
type RoundTrips struct{ n atomic.Int64 }

// Count is the round trips so far.
func (r *RoundTrips) Count() int64 { return r.n.Load() }

// Dial dials TCP and wraps the connection.
func (r *RoundTrips) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, r: r}, nil
}

type countingConn struct {
	net.Conn
	r       *RoundTrips
	written atomic.Bool // a write since the last read
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.written.Store(true)
	return c.Conn.Write(p)
}

func (c *countingConn) Read(p []byte) (int, error) {
	if c.written.Swap(false) {
		c.r.n.Add(1)
	}
	return c.Conn.Read(p)
}
