package linz_test

import (
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/linz"
)

// A replica that lags behind serves an overwritten value: the read is stale,
// and the history is not linearizable.
func Example() {
	ms := time.Millisecond
	rec := linz.NewRecorder()
	a := rec.Call(0, linz.Write, "cart", "1 item", 0)
	_ = rec.Return(a, "", false, 10*ms)
	b := rec.Call(0, linz.Write, "cart", "2 items", 20*ms)
	_ = rec.Return(b, "", false, 30*ms)
	c := rec.Call(1, linz.Read, "cart", "", 40*ms)
	_ = rec.Return(c, "1 item", true, 45*ms) // from a lagging replica

	h := rec.History()
	stale, _ := linz.Stale(h)
	res, _ := linz.Check(h, time.Second)
	fmt.Println(stale)
	fmt.Println("age of the stale read:", stale.Ages[0])
	fmt.Println(res)
	// Output:
	// 1 of 1 reads stale (100.0%)
	// age of the stale read: 10ms
	// not linearizable (3 operations on 1 keys); keys with a violation: cart
}
