package spark

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/apache/spark-connect-go/spark/client/channel"
	"github.com/apache/spark-connect-go/spark/sql"
	"google.golang.org/grpc"
)

// NotAnsweringError says the Spark Connect server named by a remote did not
// accept a connection, or did not answer a first request, within
// ReachTimeout.
type NotAnsweringError struct {
	Remote string // the sc:// address that was tried
	Err    error  // the dial or request error
}

// Error is one sentence naming the engine, RemoteEnv and the make target.
func (e *NotAnsweringError) Error() string {
	return fmt.Sprintf("Spark Connect is not answering at %s (%s): start it with make spark (%v)",
		e.Remote, RemoteEnv, e.Err)
}

// Unwrap returns the dial or request error.
func (e *NotAnsweringError) Unwrap() error { return e.Err }

// Connect opens a Session on the Spark Connect server at remote, like
// "sc://127.0.0.1:15002" (empty means DefaultRemote; a missing sc:// is
// added). It dials the port first and then asks for one setting, both
// within ReachTimeout, so that a server that is not there, or a port that
// accepts and never answers, fails fast with a *NotAnsweringError instead
// of hanging the first query.
func Connect(ctx context.Context, remote string) (*Session, error) {
	remote = strings.TrimSpace(remote)
	if remote == "" {
		remote = DefaultRemote
	}
	if !strings.Contains(remote, "://") {
		remote = "sc://" + remote
	}
	addr, err := hostPort(remote)
	if err != nil {
		return nil, fmt.Errorf("%s=%q is not a Spark Connect address like %s: %w", RemoteEnv, remote, DefaultRemote, err)
	}
	rctx, cancel := context.WithTimeout(ctx, ReachTimeout)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(rctx, "tcp", addr)
	if err != nil {
		return nil, &NotAnsweringError{Remote: remote, Err: err}
	}
	c.Close()

	base, err := channel.NewBuilder(remote)
	if err != nil {
		return nil, fmt.Errorf("%s=%q is not a Spark Connect address like %s: %w", RemoteEnv, remote, DefaultRemote, err)
	}
	b := &taggingBuilder{BaseBuilder: base, tag: newTag()}
	ss, err := sql.NewSessionBuilder().WithChannelBuilder(b).Build(ctx)
	if err != nil {
		return nil, &NotAnsweringError{Remote: remote, Err: err}
	}
	s := &Session{spark: ss, conn: b.conn, tag: b.tag, remote: remote}
	// A first request proves that a Spark Connect server is behind the port.
	if _, err := ss.Config().Get(rctx, "spark.sql.session.timeZone"); err != nil {
		s.Close()
		if rctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("no answer to a first request within %v: %w", ReachTimeout, err)
		}
		return nil, &NotAnsweringError{Remote: remote, Err: err}
	}
	return s, nil
}

// hostPort returns the host:port that a sc:// remote dials (port 15002
// when the remote names none).
func hostPort(remote string) (string, error) {
	u, err := url.Parse(remote)
	if err != nil {
		return "", err
	}
	if u.Scheme != "sc" {
		return "", errors.New("the scheme must be sc://")
	}
	if u.Hostname() == "" {
		return "", errors.New("no host")
	}
	port := u.Port()
	if port == "" {
		port = "15002"
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// newTag returns a Spark Connect user id unique to one Session: the server
// puts it into the tags of every job the Session runs.
func newTag() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "dsgym-" + hex.EncodeToString(b[:])
}

// taggingBuilder is the client's connection-string builder with the user id
// replaced by the Session's tag, and the gRPC connection kept so that Close
// can close it (the client's own Stop does not).
type taggingBuilder struct {
	*channel.BaseBuilder
	tag  string
	conn *grpc.ClientConn
}

// User returns the Session's tag as its Spark Connect user id.
func (b *taggingBuilder) User() string { return b.tag }

// Build builds the gRPC connection and keeps it.
func (b *taggingBuilder) Build(ctx context.Context) (*grpc.ClientConn, error) {
	conn, err := b.BaseBuilder.Build(ctx)
	b.conn = conn
	return conn, err
}
