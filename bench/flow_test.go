package bench_test

import (
	"context"
	"os"
	"testing"

	"github.com/patchbay/patchbay/bench"
	"github.com/patchbay/patchbay/internal/cli"
	_ "github.com/patchbay/patchbay/internal/connector/all"
)

// childEnv makes this test binary run as patchbay: bench.Flow starts its
// own executable (the test binary here) as the patchbay under test.
const childEnv = "PATCHBAY_BENCH_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestFlowWarmup runs the flow benchmark end to end on a few events: every
// measured run is delivered, none failed, and the warm-up events are
// neither counted nor measured.
func TestFlowWarmup(t *testing.T) {
	t.Parallel()
	res, err := bench.Flow(context.Background(), bench.FlowOptions{Events: 40, Warmup: 30, Concurrency: 4, Store: "sqlite",
		Workers: 8, Audit: true, Env: []string{childEnv + "=1"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.PatchbayError != "" || res.Failed != 0 || res.Delivered != 40 || res.Events != 40 || res.Warmup != 30 {
		t.Fatalf("result = %+v; want 40 measured runs delivered after 30 warm-up ones, none failed", res)
	}
	if res.RunsPerS <= 0 || res.AckP99MS <= 0 || res.E2EP99MS <= 0 || res.CPUMSPerRun <= 0 {
		t.Fatalf("missing figures: %+v", res)
	}
}
