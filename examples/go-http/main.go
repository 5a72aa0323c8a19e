// The Go example of "Hooking Up Fly Metrics": a net/http app with the official Prometheus client library
// (client_golang). The article's counter vector, with subsystem "someEvent" and name "count", so its series is
// someEvent_count, is bumped by GET /event; promhttp serves every metric of the default registry (the counter,
// Go runtime and process metrics) on a private listener that fly.toml's [metrics] points the platform at. The app
// itself answers on $PORT, behind the edge, which counts every request on its own (fly_edge_*).
package main

import (
	"context"
	"errors"
	"log"
	"math/rand"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The article's counter. Its second label is spelled "other-label" there, which is not a valid Prometheus label
// name (the client panics on it): here it is other_label, and tells the kind of event, "none" for a bare /event.
var counter = prometheus.NewCounterVec(prometheus.CounterOpts{
	Subsystem: "someEvent",
	Name:      "count",
	Help:      "Events seen, by label and kind.",
}, []string{"label", "other_label"})

// eventKind keeps the kinds few and printable: they become label values.
var eventKind = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// maxSlow is the longest delay GET /slow accepts.
const maxSlow = 30 * time.Second

// shutdownGrace is how long a stopping server waits for requests in flight.
const shutdownGrace = 5 * time.Second

// envPort is the port named by the environment variable name, else fallback. Locally Contrail runs several
// instances on one host and gives each its own ports: PORT for internal_port, PORT_<n> for another declared port n.
func envPort(name, fallback string) string {
	if p := os.Getenv(name); p != "" {
		return p
	}
	return fallback
}

func event(w http.ResponseWriter, r *http.Request) {
	kind := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/event"), "/")
	if kind == "" {
		kind = "none"
	} else if !eventKind.MatchString(kind) {
		http.Error(w, "An event kind is 1 to 32 of a-z, 0-9, _ and -.", http.StatusBadRequest)
		return
	}
	// Bump the counter when something happens.
	counter.With(prometheus.Labels{"label": "something", "other_label": kind}).Inc()
	w.Write([]byte("You have been recorded.\n"))
}

// slow answers after ?ms= milliseconds (at most 30 s), or after 200 to 1200 ms.
func slow(w http.ResponseWriter, r *http.Request) {
	d := time.Duration(200+rand.Intn(1000)) * time.Millisecond
	if ms, err := strconv.Atoi(r.URL.Query().Get("ms")); err == nil && ms >= 0 {
		d = time.Duration(ms) * time.Millisecond
		if d > maxSlow {
			d = maxSlow
		}
	}
	select {
	case <-time.After(d):
		w.Write([]byte("Slept " + strconv.FormatInt(d.Milliseconds(), 10) + " ms.\n"))
	case <-r.Context().Done():
	}
}

func main() {
	prometheus.MustRegister(counter)

	app := http.NewServeMux()
	app.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.Error(w, "Nothing here.", http.StatusNotFound)
			return
		}
		w.Write([]byte("Hello World!\n"))
	})
	app.HandleFunc("/event", event)
	app.HandleFunc("/event/", event)
	app.HandleFunc("/slow", slow)
	app.HandleFunc("/error", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Something broke.", http.StatusInternalServerError)
	})

	// Serve Prometheus metrics on a private listener: the edge does not route to it, the platform scrapes it.
	private := http.NewServeMux()
	private.Handle("/metrics", promhttp.Handler())

	servers := []*http.Server{
		{Addr: ":" + envPort("PORT", "8080"), Handler: app},
		{Addr: ":" + envPort("PORT_9091", "9091"), Handler: private},
	}
	failed := make(chan error, len(servers))
	for _, s := range servers {
		go func(s *http.Server) {
			if err := s.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				failed <- err
			}
		}(s)
	}
	log.Printf("listening on %s, metrics on %s/metrics", servers[0].Addr, servers[1].Addr)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-failed:
		log.Fatal(err)
	case <-stop:
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	for _, s := range servers {
		s.Shutdown(ctx)
	}
}
