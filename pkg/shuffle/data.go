package shuffle

import (
	"fmt"
	"math"
)

// Data is one side of a job: how many rows each key has (the key is the
// index) and how many bytes a row takes in the shuffle. Only the counts
// matter to a shuffle, so a billion rows cost as little to simulate as a
// thousand.
type Data struct {
	Counts   []int64
	RowBytes int64
}

// Rows is the number of rows.
func (d Data) Rows() int64 {
	var n int64
	for _, c := range d.Counts {
		n += c
	}
	return n
}

// Bytes is the data's size in the shuffle.
func (d Data) Bytes() int64 { return d.Rows() * d.RowBytes }

// Validate reports data a job cannot have.
func (d Data) Validate(name string) error {
	if len(d.Counts) == 0 {
		return fmt.Errorf("%s: no keys (an empty job)", name)
	}
	if d.RowBytes <= 0 {
		return fmt.Errorf("%s: row size %d bytes must be positive", name, d.RowBytes)
	}
	for k, c := range d.Counts {
		if c < 0 {
			return fmt.Errorf("%s: key %d has a negative count %d", name, k, c)
		}
	}
	return nil
}

// Zipf spreads rows over keys by Zipf's law with exponent s (s = 0 is
// uniform; s = 1.1 makes key 0 hold about a tenth of the rows over 100,000
// keys): key k gets rows x (k+1)^-s / H, the expected counts, so no seed is
// needed and the hottest key is key 0.
func Zipf(rows int64, keys int, s float64, rowBytes int64) (Data, error) {
	if rows < 0 || keys <= 0 || s < 0 || math.IsNaN(s) {
		return Data{}, fmt.Errorf("zipf: need rows >= 0, keys > 0 and s >= 0 (got %d, %d, %v)", rows, keys, s)
	}
	w := make([]float64, keys)
	var h float64
	for k := range w {
		w[k] = math.Pow(float64(k+1), -s)
		h += w[k]
	}
	d := Data{Counts: make([]int64, keys), RowBytes: rowBytes}
	var given int64
	for k := range w {
		d.Counts[k] = int64(float64(rows) * w[k] / h)
		given += d.Counts[k]
	}
	for k := 0; given < rows; k = (k + 1) % keys {
		d.Counts[k]++
		given++
	}
	return d, d.Validate("zipf")
}

// HotKey gives key 0 the fraction hot of the rows and spreads the rest
// evenly over the other keys: the shape of the real-Spark job (a fact table
// where one customer has 30% of the orders).
func HotKey(rows int64, keys int, hot float64, rowBytes int64) (Data, error) {
	if rows < 0 || keys < 2 || !(hot >= 0 && hot <= 1) {
		return Data{}, fmt.Errorf("hotkey: need rows >= 0, keys >= 2 and hot in [0, 1] (got %d, %d, %v)", rows, keys, hot)
	}
	d := Data{Counts: make([]int64, keys), RowBytes: rowBytes}
	d.Counts[0] = int64(float64(rows) * hot)
	rest := rows - d.Counts[0]
	per, extra := rest/int64(keys-1), rest%int64(keys-1)
	for k := 1; k < keys; k++ {
		d.Counts[k] = per
		if int64(k-1) < extra {
			d.Counts[k]++
		}
	}
	return d, d.Validate("hotkey")
}

// Uniform gives every key n rows: a dimension table has one row per key.
func Uniform(keys int, n int64, rowBytes int64) (Data, error) {
	if keys <= 0 || n < 0 {
		return Data{}, fmt.Errorf("uniform: need keys > 0 and rows per key >= 0 (got %d, %d)", keys, n)
	}
	d := Data{Counts: make([]int64, keys), RowBytes: rowBytes}
	for k := range d.Counts {
		d.Counts[k] = n
	}
	return d, d.Validate("uniform")
}

// salted turns each key k into salts keys k*salts+s. spread splits k's
// rows among them (the big side, where a random salt is drawn per row);
// otherwise every copy gets all of k's rows (the small side of a salted
// join, replicated once per salt).
func (d Data) salted(salts int, spread bool) Data {
	out := Data{Counts: make([]int64, len(d.Counts)*salts), RowBytes: d.RowBytes}
	for k, c := range d.Counts {
		for s := 0; s < salts; s++ {
			n := c
			if spread {
				n = c / int64(salts)
				if int64(s) < c%int64(salts) {
					n++
				}
			}
			out.Counts[k*salts+s] = n
		}
	}
	return out
}

// mix is a 64-bit finaliser (SplitMix64's): hash partitioning of key ids.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// PartitionOf is the reduce partition of key k among n: a hash of the key
// modulo n, as Spark's HashPartitioner does (with its own hash).
func PartitionOf(k, n int) int { return int(mix(uint64(k)) % uint64(n)) }

// shuffleOut is what a map stage writes: records[m][p] from map task m for
// reduce partition p, and the rows each map task read.
type shuffleOut struct {
	records [][]int64 // [map][partition]
	rowsIn  []int64   // [map]
	rowSize int64
}

// writeShuffle splits d's rows evenly over maps map tasks (each key's rows
// spread over all of them, as rows of an unsorted input are) and hashes
// keys onto partitions. With combine, a map task writes one record per key
// it saw (a partial aggregate of aggBytes) instead of every row.
func writeShuffle(d Data, maps, partitions int, part func(k int) int, combine bool, aggBytes int64) shuffleOut {
	base := make([]int64, partitions)
	// diff[p*(maps+1)+m]: a difference array over map tasks, per partition
	w := maps + 1
	diff := make([]int64, partitions*w)
	rowsBase := int64(0)
	rowsDiff := make([]int64, w)
	for k, c := range d.Counts {
		if c == 0 {
			continue
		}
		q, r := c/int64(maps), int(c%int64(maps))
		p := part(k)
		rowsBase += q
		rowsDiff[0]++
		rowsDiff[r]--
		switch {
		case !combine:
			base[p] += q
			diff[p*w]++
			diff[p*w+r]--
		case q > 0:
			base[p]++
		default:
			diff[p*w]++
			diff[p*w+r]--
		}
	}
	out := shuffleOut{records: make([][]int64, maps), rowsIn: make([]int64, maps), rowSize: d.RowBytes}
	if combine {
		out.rowSize = aggBytes
	}
	run := make([]int64, partitions)
	var rowsRun int64
	for m := 0; m < maps; m++ {
		rowsRun += rowsDiff[m]
		out.rowsIn[m] = rowsBase + rowsRun
		out.records[m] = make([]int64, partitions)
		for p := range partitions {
			run[p] += diff[p*w+m]
			out.records[m][p] = base[p] + run[p]
		}
	}
	return out
}

// partitionRecords sums the records of each reduce partition.
func (s shuffleOut) partitionRecords() []int64 {
	if len(s.records) == 0 {
		return nil
	}
	out := make([]int64, len(s.records[0]))
	for _, row := range s.records {
		for p, r := range row {
			out[p] += r
		}
	}
	return out
}

// blockBytes returns bytes[p][m], the layout AQE reads.
func (s shuffleOut) blockBytes() [][]int64 {
	if len(s.records) == 0 {
		return nil
	}
	out := make([][]int64, len(s.records[0]))
	for p := range out {
		out[p] = make([]int64, len(s.records))
		for m := range s.records {
			out[p][m] = s.records[m][p] * s.rowSize
		}
	}
	return out
}
