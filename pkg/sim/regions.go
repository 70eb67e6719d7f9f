package sim

import (
	"fmt"
	"sort"
	"time"
)

// Region is a cloud region, for models that place nodes around the world.
type Region string

// The regions the course uses.
const (
	USEast       Region = "us-east"
	USWest       Region = "us-west"
	EUWest       Region = "eu-west"
	APSoutheast  Region = "ap-southeast"
	SAEast       Region = "sa-east"
	SameRegionAZ        = 500 * time.Microsecond // between availability zones of one region
)

// oneWayMS holds approximate one-way latencies in milliseconds between
// regions: half of typical round-trip times between the corresponding public
// cloud regions (N. Virginia, Oregon, Ireland, Singapore, São Paulo). They
// are teaching figures, right to within tens of percent, not measurements.
var oneWayMS = map[[2]Region]float64{
	{USEast, USWest}:      32,
	{USEast, EUWest}:      38,
	{USEast, APSoutheast}: 110,
	{USEast, SAEast}:      60,
	{USWest, EUWest}:      68,
	{USWest, APSoutheast}: 85,
	{USWest, SAEast}:      90,
	{EUWest, APSoutheast}: 85,
	{EUWest, SAEast}:      95,
	{APSoutheast, SAEast}: 165,
}

// Regions returns the known regions, sorted.
func Regions() []Region {
	set := map[Region]bool{}
	for k := range oneWayMS {
		set[k[0]], set[k[1]] = true, true
	}
	out := make([]Region, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// OneWay returns the approximate one-way latency between two regions
// (SameRegionAZ within one region).
func OneWay(a, b Region) (time.Duration, error) {
	if a == b {
		if _, ok := knownRegion(a); !ok {
			return 0, fmt.Errorf("unknown region %q (known: %v)", a, Regions())
		}
		return SameRegionAZ, nil
	}
	ms, ok := oneWayMS[[2]Region{a, b}]
	if !ok {
		ms, ok = oneWayMS[[2]Region{b, a}]
	}
	if !ok {
		return 0, fmt.Errorf("no latency known between %q and %q (known regions: %v)", a, b, Regions())
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

func knownRegion(r Region) (Region, bool) {
	for k := range oneWayMS {
		if k[0] == r || k[1] == r {
			return r, true
		}
	}
	return "", false
}

// RegionLink returns a link between two regions with their one-way latency
// and jitter as a fraction of it (0.1 = up to 10% extra).
func RegionLink(a, b Region, jitter float64) (Link, error) {
	d, err := OneWay(a, b)
	if err != nil {
		return Link{}, err
	}
	if jitter < 0 {
		return Link{}, fmt.Errorf("jitter fraction %v is negative", jitter)
	}
	return Link{Latency: d, Jitter: time.Duration(float64(d) * jitter)}, nil
}
