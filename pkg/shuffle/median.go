package shuffle

import (
	"container/heap"
	"time"
)

// runningMedian keeps the median of a growing set of durations in
// O(log n) per value: the lower half in a max-heap, the upper half in a
// min-heap, the lower one never smaller. The median it reports is the
// upper middle for an even count, as sorting and taking index n/2 does.
type runningMedian struct {
	lo maxHeap
	hi minHeap
}

func (m *runningMedian) add(d time.Duration) {
	if m.lo.Len() == 0 || d <= m.lo.minHeap[0] {
		heap.Push(&m.lo, d)
	} else {
		heap.Push(&m.hi, d)
	}
	// keep len(lo) == len(hi) or len(hi)+1
	if m.lo.Len() > m.hi.Len()+1 {
		heap.Push(&m.hi, heap.Pop(&m.lo))
	} else if m.hi.Len() > m.lo.Len() {
		heap.Push(&m.lo, heap.Pop(&m.hi))
	}
}

func (m *runningMedian) len() int { return m.lo.Len() + m.hi.Len() }

// median returns element n/2 of the sorted values.
func (m *runningMedian) median() time.Duration {
	if m.len()%2 == 0 {
		return m.hi[0]
	}
	return m.lo.minHeap[0]
}

type minHeap []time.Duration

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(time.Duration)) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type maxHeap struct{ minHeap }

func (h maxHeap) Less(i, j int) bool { return h.minHeap[i] > h.minHeap[j] }
