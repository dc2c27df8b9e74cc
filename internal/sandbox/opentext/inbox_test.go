package opentext

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// noRedirect returns a client that stops at redirects so tests see the 303.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func getPage(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return string(b)
}

func postForm(t *testing.T, u string, form url.Values) *url.URL {
	t.Helper()
	resp, err := noRedirect().PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST %s: %d, want 303", u, resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestInboxClaimAndCompleteRunsModelToTheEnd(t *testing.T) {
	t.Parallel()
	s, ts := newServer(t, Options{Seed: true})
	c := newClient(t, s, ts)
	rc := newReceiver(t)
	in := startReview(t, c, "bk-inbox", "callback_url", rc.srv.URL, "callback_secret", "k")
	task := openTask(t, c, in.ID)

	page := getPage(t, ts.URL+"/sandbox/opentext/inbox?user=reviewer@example.com&mine=1")
	for _, want := range []string{"Review media", "bk-inbox", "Teaser &#34;A&#34;", `value="approved"`, "media_reviewers", "/sandbox/opentext/inbox/tasks/" + task.ID + "/claim"} {
		if !strings.Contains(page, want) {
			t.Errorf("inbox page lacks %q", want)
		}
	}
	// editor@example.com is in no candidate group of the task.
	if page := getPage(t, ts.URL+"/sandbox/opentext/inbox?user=editor@example.com&mine=1"); strings.Contains(page, task.ID) {
		t.Errorf("editor sees the reviewers' task")
	}

	loc := postForm(t, ts.URL+"/sandbox/opentext/inbox/tasks/"+task.ID+"/claim", url.Values{"user": {"reviewer@example.com"}})
	if loc.Query().Get("err") != "" || loc.Query().Get("user") != "reviewer@example.com" {
		t.Fatalf("claim redirect = %s", loc)
	}
	if ts2 := s.Tasks(TaskFilter{InstanceID: in.ID}); ts2[0].Assignee != "reviewer@example.com" {
		t.Fatalf("after claim: %+v", ts2)
	}
	// Someone else cannot complete a claimed task.
	loc = postForm(t, ts.URL+"/sandbox/opentext/inbox/tasks/"+task.ID+"/complete", url.Values{"user": {"approver@example.com"}, "outcome": {"approved"}})
	if !strings.Contains(loc.Query().Get("err"), "claimed by reviewer@example.com") {
		t.Fatalf("complete by another user: %s", loc)
	}
	loc = postForm(t, ts.URL+"/sandbox/opentext/inbox/tasks/"+task.ID+"/complete", url.Values{
		"user": {"reviewer@example.com"}, "outcome": {"rejected"}, "comment": {"Audio drops at 0:12"},
	})
	if loc.Query().Get("err") != "" {
		t.Fatalf("complete: %s", loc)
	}
	waitIdle(t, s)
	st, _ := s.Instance(in.ID)
	if st.Status != "completed" || st.Variables["outcome"] != "rejected" || st.Variables["comment"] != "Audio drops at 0:12" {
		t.Fatalf("instance = %+v", st)
	}
	calls := rc.calls()
	if len(calls) != 1 || calls[0].Body["outcome"] != "rejected" || calls[0].Body["reviewer"] != "reviewer@example.com" {
		t.Fatalf("callbacks = %+v", calls)
	}
	page = getPage(t, ts.URL+loc.RequestURI())
	for _, want := range []string{"Completed task " + task.ID + " with outcome rejected", "Recently finished", in.ID} {
		if !strings.Contains(page, want) {
			t.Errorf("page after completing lacks %q", want)
		}
	}
	// The task comment is visible through the API as well.
	var comments []commentDTO
	c.do(http.MethodGet, "/workflow/v1/process-instances/"+in.ID+"/comments", nil, &comments)
	if len(comments) != 1 || comments[0].Message != "Audio drops at 0:12" || *comments[0].TaskID != task.ID {
		t.Errorf("comments = %+v", comments)
	}
}

func TestInboxReportsErrors(t *testing.T) {
	t.Parallel()
	s, ts := newServer(t, Options{Seed: true})
	loc := postForm(t, ts.URL+"/sandbox/opentext/inbox/tasks/nope/complete", url.Values{"user": {"reviewer@example.com"}, "outcome": {"approved"}})
	if !strings.Contains(loc.Query().Get("err"), "Could not find a task") {
		t.Fatalf("redirect = %s", loc)
	}
	page := getPage(t, ts.URL+loc.RequestURI())
	if !strings.Contains(page, `role="alert"`) {
		t.Errorf("error not shown")
	}
	task := s.Tasks(TaskFilter{OpenOnly: true})[0]
	loc = postForm(t, ts.URL+"/sandbox/opentext/inbox/tasks/"+task.ID+"/complete", url.Values{"user": {"reviewer@example.com"}, "outcome": {"maybe"}})
	if !strings.Contains(loc.Query().Get("err"), "not a possible outcome") {
		t.Fatalf("bad outcome redirect = %s", loc)
	}
}
