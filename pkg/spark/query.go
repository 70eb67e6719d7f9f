package spark

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/spark-connect-go/spark/sql"
)

// Result is what a query returned, collected on the client.
type Result struct {
	Columns []string
	// Rows holds one slice per row, in column order, as Go values: int32
	// (INT), int64 (BIGINT), float64 (DOUBLE), string, bool, time.Time
	// (DATE, TIMESTAMP; in UTC), nil for NULL; other types as the Arrow
	// value the client decoded.
	Rows [][]any
}

// Query runs one SQL query and collects every row on the client: use it for
// results that fit in memory (aggregates, samples, LIMIT).
func (s *Session) Query(ctx context.Context, query string) (*Result, error) {
	df, err := s.spark.Sql(ctx, query)
	if err != nil {
		return nil, err
	}
	return Collect(ctx, df)
}

// Exec runs one SQL statement for its effect (SET, CREATE TEMP VIEW, ...).
func (s *Session) Exec(ctx context.Context, statement string) error {
	_, err := s.spark.Sql(ctx, statement)
	return err
}

// Collect runs a DataFrame and collects its rows as a Result.
func Collect(ctx context.Context, df sql.DataFrame) (*Result, error) {
	rows, err := df.Collect(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Rows: make([][]any, len(rows))}
	if len(rows) > 0 {
		res.Columns = rows[0].FieldNames()
	} else {
		schema, err := df.Schema(ctx)
		if err != nil {
			return nil, err
		}
		for _, f := range schema.Fields {
			res.Columns = append(res.Columns, f.Name)
		}
	}
	for i, r := range rows {
		vals := r.Values()
		out := make([]any, len(vals))
		for j, v := range vals {
			out[j] = goValue(v)
		}
		res.Rows[i] = out
	}
	return res, nil
}

// goValue turns the Arrow date and time values the client returns into
// time.Time (Spark sends timestamps in microseconds).
func goValue(v any) any {
	switch x := v.(type) {
	case arrow.Date32:
		return x.ToTime()
	case arrow.Date64:
		return x.ToTime()
	case arrow.Timestamp:
		return x.ToTime(arrow.Microsecond).UTC()
	}
	return v
}

// Int64Frame sends values to the server as a one-column BIGINT DataFrame
// (an Arrow local relation inside the plan: keep it to a few MB).
func (s *Session) Int64Frame(ctx context.Context, column string, values []int64) (sql.DataFrame, error) {
	b := array.NewInt64Builder(memory.NewGoAllocator())
	defer b.Release()
	b.AppendValues(values, nil)
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: column, Type: arrow.PrimitiveTypes.Int64}}, nil)
	rec := array.NewRecord(schema, []arrow.Array{col}, int64(len(values)))
	defer rec.Release()
	tbl := array.NewTableFromRecords(schema, []arrow.Record{rec})
	defer tbl.Release()
	df, err := s.spark.CreateDataFrameFromArrow(ctx, tbl)
	if err != nil {
		return nil, fmt.Errorf("send %d values as a DataFrame: %w", len(values), err)
	}
	return df, nil
}
