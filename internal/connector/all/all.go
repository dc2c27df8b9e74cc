// Package all imports every connector compiled into patchbay, so they
// register themselves. The binary (and tests that want the full set) import
// it; to build a smaller patchbay, import fewer connector packages instead.
package all

import (
	// Built-in connectors.
	_ "github.com/patchbay/patchbay/internal/connector/core"
	_ "github.com/patchbay/patchbay/internal/connector/httpx"

	// The media systems.
	_ "github.com/patchbay/patchbay/internal/connector/contentstack"
	_ "github.com/patchbay/patchbay/internal/connector/iconik"
	_ "github.com/patchbay/patchbay/internal/connector/opentext"
)
