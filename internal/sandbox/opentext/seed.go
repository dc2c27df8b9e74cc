package opentext

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/patchbay/patchbay/internal/sandbox/opentext/bpmn"
)

// seedModels are deployed by Seed, in order: media_review (embedded, must
// deploy) and OpenText's sample models read from Options.SampleModels when
// that folder exists. manager_approval must deploy when present; the others
// are skipped with a logged reason when they use something the executor
// does not support (contract_approval runs a JavaScript listener with arrow
// functions).
var seedModels = []struct {
	key      string
	required bool
}{
	{"media_review", true},
	{"manager_approval", true},
	{"solvency_check", false},
	{"contract_approval", false},
}

func (s *Server) seedModel(key string) ([]byte, error) {
	if b, ok := Model(key); ok {
		return b, nil
	}
	if s.opts.SampleModels == "" {
		return nil, fmt.Errorf("OpenText sample model %s not found (no ../shared/apis/specs/opentext; set Options.SampleModels)", key)
	}
	return os.ReadFile(filepath.Join(s.opts.SampleModels, key+".otwf"))
}

// SeedReviewerGroup is the candidate group of the seeded media_review tasks.
const SeedReviewerGroup = "media_reviewers"

func (s *Server) seed() error {
	skipped := map[string]string{}
	for _, m := range seedModels {
		content, err := s.seedModel(m.key)
		if err != nil {
			skipped[m.key] = err.Error()
			s.log.Info("seed model skipped", "model", m.key, "reason", err.Error())
			continue
		}
		if _, err := s.engine.Deploy("json", content, ""); err != nil {
			if m.required {
				return fmt.Errorf("deploying %s: %w", m.key, err)
			}
			skipped[m.key] = err.Error()
			s.log.Info("seed model skipped", "model", m.key, "reason", err.Error())
		}
	}
	s.mu.Lock()
	s.skipped = skipped
	s.mu.Unlock()
	assets := []struct{ asset, version, title, campaign, region string }{
		{"3f1e2d4c-0a1b-4c5d-8e9f-a1b2c3d4e5f6", "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "Spring launch teaser", "spring-launch", "emea"},
		{"4a2f3e5d-1b2c-4d6e-9f0a-b2c3d4e5f6a7", "8b9c0d1e-2f3a-4b4c-9d5e-6f7a8b9c0d1e", "Product hero cut", "spring-launch", "na"},
		{"5b3a4f6e-2c3d-4e7f-8a1b-c3d4e5f6a7b8", "9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f", "Behind the scenes", "brand", "apac"},
	}
	var ids []string
	for _, a := range assets {
		id, err := s.engine.StartInstance(bpmn.StartRequest{
			DefinitionKey: "media_review", BusinessKey: "iconik:" + a.asset + ":" + a.version, User: s.opts.ClientID,
			Variables: []bpmn.VarInput{
				{Name: "asset_id", Value: a.asset}, {Name: "version_id", Value: a.version}, {Name: "title", Value: a.title},
				{Name: "preview_url", Value: "https://example.invalid/previews/" + a.asset + ".mp4"},
				{Name: "campaign", Value: a.campaign}, {Name: "region", Value: a.region},
				{Name: "reviewer_group", Value: SeedReviewerGroup},
			},
		})
		if err != nil {
			return fmt.Errorf("starting seed instance: %w", err)
		}
		ids = append(ids, id)
	}
	// The last one is already reviewed, so history is not empty.
	for _, t := range s.Tasks(TaskFilter{InstanceID: ids[len(ids)-1], OpenOnly: true}) {
		if err := s.CompleteTask(t.ID, s.opts.Users[0].Username, "approved", "Looks good.", nil); err != nil {
			return fmt.Errorf("completing seed task: %w", err)
		}
	}
	return nil
}

// SeedSkipped reports the seed models that were not deployed and why.
func (s *Server) SeedSkipped() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.skipped))
	keys := make([]string, 0, len(s.skipped))
	for k := range s.skipped {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = s.skipped[k]
	}
	return out
}
