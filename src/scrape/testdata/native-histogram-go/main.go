// A client_golang program for the protobuf scrape test: one histogram with native buckets (factor 1.1, so schema
// 3) and two classic buckets, observed with the values given as arguments, served by promhttp on a free loopback
// port, which it prints on stdout as its first line. It runs until killed.
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:                        "rt_seconds",
		Help:                        "Response time.",
		Buckets:                     []float64{0.1, 1},
		NativeHistogramBucketFactor: 1.1,
	})
	reg.MustRegister(h)
	for _, a := range os.Args[1:] {
		v, err := strconv.ParseFloat(a, 64)
		if err != nil {
			log.Fatal(err)
		}
		h.Observe(v)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	log.Fatal(http.Serve(ln, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
}
