// Command patchbay runs durable integration flows between iconik, OpenText
// Workflow Service and Contentstack. See README.md.
package main

import (
	"context"
	"os"

	"github.com/patchbay/patchbay/internal/cli"
	_ "github.com/patchbay/patchbay/internal/connector/all"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
