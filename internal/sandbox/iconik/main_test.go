package iconik

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the package when goroutines outlive the tests: every
// server is closed by its test, and Close must stop timers and deliveries.
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		http.DefaultClient.CloseIdleConnections()
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			var ours []string
			for _, g := range strings.Split(stacks, "\n\n") {
				if strings.Contains(g, "sandbox/") && !strings.Contains(g, "iconik.TestMain") {
					ours = append(ours, g)
				}
			}
			if len(ours) > 0 {
				fmt.Fprintf(os.Stderr, "goroutine leak: %d goroutines, %d before the tests:\n%s\n", n, before, strings.Join(ours, "\n\n"))
				code = 1
			}
		}
	}
	os.Exit(code)
}
