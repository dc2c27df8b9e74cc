// Package templates holds the use-case templates (USECASES.md): parameterized
// flow files a user installs with `patchbay template install`, and the
// process models they ship with (models/*.otwf, deployed to OpenText by the
// demo or by `patchbay connection setup`). Package internal/template lists,
// renders and installs them.
package templates

import "embed"

// Files holds the template flow files (*.yaml) and the bundled models
// (models/*.otwf).
//
//go:embed *.yaml models/*.otwf
var Files embed.FS

// Model returns a bundled process model by key (media_review).
func Model(key string) ([]byte, bool) {
	b, err := Files.ReadFile("models/" + key + ".otwf")
	return b, err == nil
}
