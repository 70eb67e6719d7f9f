package netfault_test

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/dsgym/dsgym/pkg/netfault"
)

// A proxy in front of an echo server: bytes pass, then a Cut refuses the
// connection, then Restore brings it back on the same address.
func Example() {
	upstream, stop := echoServer()
	defer stop()

	f := netfault.New()
	defer f.Close()
	p, err := f.Proxy("echo", upstream)
	if err != nil {
		panic(err)
	}

	echo := func() string {
		c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
		if err != nil {
			return "no connection"
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		fmt.Fprint(c, "hello")
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c, buf); err != nil {
			return "no answer"
		}
		return string(buf)
	}

	fmt.Println("through the proxy:", echo())
	p.Delay(netfault.Downstream, 50*time.Millisecond, 0)
	fmt.Println("delayed:", echo())
	p.Cut()
	fmt.Println("cut:", echo())
	p.Restore()
	p.Blackhole()
	fmt.Println("black-holed:", echo())
	p.Restore()
	fmt.Println("restored:", echo())
	// Output:
	// through the proxy: hello
	// delayed: hello
	// cut: no connection
	// black-holed: no answer
	// restored: hello
}
