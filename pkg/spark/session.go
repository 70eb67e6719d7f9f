package spark

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/apache/spark-connect-go/spark/client"
	"github.com/apache/spark-connect-go/spark/sql"
	"google.golang.org/grpc"
)

// Session is one Spark Connect session: its own SQL settings and temporary
// views on a shared server. Use it from one goroutine at a time.
type Session struct {
	spark  sql.SparkSession
	conn   *grpc.ClientConn
	tag    string
	remote string
}

// Remote returns the sc:// address the Session is connected to.
func (s *Session) Remote() string { return s.remote }

// Tag returns the Spark Connect user id unique to this Session; every job it
// runs carries it in its job tags (see SessionStages).
func (s *Session) Tag() string { return s.tag }

// Spark returns the underlying spark-connect-go session, for the DataFrame
// API (Sql, Read, CreateDataFrame, ...).
func (s *Session) Spark() sql.SparkSession { return s.spark }

// Config returns the Session's runtime configuration: Config().Set(ctx,
// "spark.sql.shuffle.partitions", "8") changes it for this Session only.
func (s *Session) Config() client.RuntimeConfig { return s.spark.Config() }

// Configure sets every key of settings on the Session, in key order, and
// stops at the first that fails.
func (s *Session) Configure(ctx context.Context, settings map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		if err := s.Config().Set(ctx, k, settings[k]); err != nil {
			return fmt.Errorf("set %s=%s: %w", k, settings[k], err)
		}
	}
	return nil
}

// Version returns the server's Spark version, like "4.3.0", from
// "select version()" (which also carries the build's git hash, dropped).
func (s *Session) Version(ctx context.Context) (string, error) {
	res, err := s.Query(ctx, "select version()")
	if err != nil {
		return "", err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return "", fmt.Errorf("select version() returned %d rows", len(res.Rows))
	}
	v, ok := res.Rows[0][0].(string)
	if !ok {
		return "", fmt.Errorf("select version() returned a %T", res.Rows[0][0])
	}
	if f := strings.Fields(v); len(f) > 0 {
		return f[0], nil
	}
	return v, nil
}

// Close closes the connection. The server keeps the session's state until
// its idle timeout; a closed Session must not be used again.
func (s *Session) Close() error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}
