package shard

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Move is what changing from one partitioner to another moves.
type Move struct {
	Keys, TotalKeys   int     // keys whose shard changed, of all keys
	Bytes, TotalBytes float64 // the same, weighted by each key's bytes
	// Ideal is the smallest fraction of keys any scheme must move to stay
	// balanced: the share the added shards take (1/(N+1) when one is added
	// to N) plus the share the removed ones held (1/N when one of N leaves).
	Ideal float64
}

// KeyFraction is the fraction of keys that moved.
func (m Move) KeyFraction() float64 { return float64(m.Keys) / float64(m.TotalKeys) }

// ByteFraction is the fraction of bytes that moved.
func (m Move) ByteFraction() float64 {
	if m.TotalBytes == 0 {
		return 0
	}
	return m.Bytes / m.TotalBytes
}

// OverIdeal is the moved key fraction divided by the ideal (1 = minimal).
func (m Move) OverIdeal() float64 {
	if m.Ideal == 0 {
		return math.NaN()
	}
	return m.KeyFraction() / m.Ideal
}

// Moved compares where each key hash lives under from and under to. bytes,
// when not nil, gives each key's stored bytes (same length as hashes).
func Moved(from, to Partitioner, hashes []uint64, bytes []float64) (Move, error) {
	if from == nil || to == nil {
		return Move{}, errors.New("shard: moved: nil partitioner")
	}
	if len(hashes) == 0 {
		return Move{}, errors.New("shard: moved: no keys")
	}
	if bytes != nil && len(bytes) != len(hashes) {
		return Move{}, fmt.Errorf("shard: moved: %d byte sizes for %d keys", len(bytes), len(hashes))
	}
	m := Move{TotalKeys: len(hashes), Ideal: idealMove(from.Shards(), to.Shards())}
	for i, h := range hashes {
		b := 1.0
		if bytes != nil {
			if b = bytes[i]; b < 0 || math.IsNaN(b) || math.IsInf(b, 0) {
				return Move{}, fmt.Errorf("shard: moved: key %d has %v bytes", i, b)
			}
		}
		m.TotalBytes += b
		if from.ShardOf(h) != to.ShardOf(h) {
			m.Keys++
			m.Bytes += b
		}
	}
	return m, nil
}

func idealMove(from, to []int) float64 {
	added, removed := 0, 0
	for _, id := range to {
		if !slices.Contains(from, id) {
			added++
		}
	}
	for _, id := range from {
		if !slices.Contains(to, id) {
			removed++
		}
	}
	return float64(added)/float64(len(to)) + float64(removed)/float64(len(from))
}

// Hashes returns the hash of every key, for [Moved] and load counting.
func Hashes(keys []string) ([]uint64, error) {
	out := make([]uint64, len(keys))
	for i, k := range keys {
		if k == "" {
			return nil, fmt.Errorf("shard: key %d: %w", i, ErrEmptyKey)
		}
		out[i] = Hash(k)
	}
	return out, nil
}

// Load returns each shard's load under p, in the order of p.Shards():
// weights[i] (1 when weights is nil) is added to the shard of hashes[i].
func Load(p Partitioner, hashes []uint64, weights []float64) ([]float64, error) {
	if p == nil {
		return nil, errors.New("shard: load: nil partitioner")
	}
	if weights != nil && len(weights) != len(hashes) {
		return nil, fmt.Errorf("shard: load: %d weights for %d keys", len(weights), len(hashes))
	}
	ids := p.Shards()
	slot := make(map[int]int, len(ids))
	for i, id := range ids {
		slot[id] = i
	}
	out := make([]float64, len(ids))
	for i, h := range hashes {
		w := 1.0
		if weights != nil {
			w = weights[i]
		}
		out[slot[p.ShardOf(h)]] += w
	}
	return out, nil
}
