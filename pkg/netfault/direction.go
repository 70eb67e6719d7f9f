package netfault

import "fmt"

// Direction says which way through a proxy a fault applies.
type Direction int

const (
	// Upstream is the client-to-server direction: requests.
	Upstream Direction = iota + 1
	// Downstream is the server-to-client direction: responses.
	Downstream
	// Both is Upstream and Downstream. A Delay on Both adds its latency
	// twice to a request-response round trip.
	Both
)

func (d Direction) String() string {
	switch d {
	case Upstream:
		return "upstream"
	case Downstream:
		return "downstream"
	case Both:
		return "both"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// streams lists toxiproxy's names for the streams d covers.
func (d Direction) streams() ([]string, error) {
	switch d {
	case Upstream:
		return []string{"upstream"}, nil
	case Downstream:
		return []string{"downstream"}, nil
	case Both:
		return []string{"upstream", "downstream"}, nil
	}
	return nil, fmt.Errorf("netfault: invalid direction %v (use Upstream, Downstream or Both)", d)
}
