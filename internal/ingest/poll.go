package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/engine"
	"github.com/patchbay/patchbay/internal/flow"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/store"
)

// Poll and schedule jobs are periodic River jobs: River's elected leader
// inserts them, any worker runs them, and a poll job is unique while one is
// pending or running, so a slow provider never gets two overlapping polls.

type pollJob struct {
	Connection string `json:"connection"`
	Trigger    string `json:"trigger"`
}

type cronJob struct {
	Flow string `json:"flow"`
}

// Register installs the poll and cron job handlers.
func (in *Ingest) Register() {
	in.q.Handle(queue.KindPoll, in.workPoll)
	in.q.Handle(queue.KindCron, in.workCron)
}

// DefaultPollInterval is used for poll triggers whose spec names none.
const DefaultPollInterval = 30 * time.Second

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

type reconciler struct {
	mu   sync.Mutex
	last string
}

// Reconcile sets the periodic jobs from the active flows and waiting runs:
// one poll per (connection, poll trigger) that a flow listens on or a run
// waits on, one cron per scheduled flow.
func (in *Ingest) Reconcile(ctx context.Context) error {
	flows, err := in.flows.All(ctx)
	if err != nil {
		return err
	}
	sources := map[string]bool{}
	var periodic []queue.Periodic
	for _, fl := range flows {
		switch fl.Trigger.Kind {
		case flow.TriggerConnector:
			sources[engine.Source(fl)] = true
		case flow.TriggerSchedule:
			sched, err := cronParser.Parse(fl.Trigger.Cron)
			if err != nil {
				in.log.Warn("bad schedule", "flow", fl.Name, "cron", fl.Trigger.Cron, "error", err)
				continue
			}
			periodic = append(periodic, queue.Periodic{ID: "cron:" + fl.Name, Schedule: sched,
				Job: queue.Job{Kind: queue.KindCron, Payload: cronJob{Flow: fl.Name}}})
		}
	}
	waitSources, err := in.st.WaitSources(ctx, in.st.Reader())
	if err != nil {
		return err
	}
	for _, s := range waitSources {
		sources[s] = true
	}
	for src := range sources {
		connName, trigger, _ := strings.Cut(src, "/")
		_, spec, err := in.conns.Get(ctx, connName)
		if err != nil {
			continue
		}
		ts, ok := spec.Trigger(trigger)
		if !ok || ts.Kind != connector.Poll {
			continue
		}
		interval := ts.Interval
		if interval <= 0 {
			interval = DefaultPollInterval
		}
		periodic = append(periodic, queue.Periodic{ID: "poll:" + src, Schedule: queue.Every(interval), RunOnStart: true,
			Job: queue.Job{Kind: queue.KindPoll, Payload: pollJob{Connection: connName, Trigger: trigger}, Unique: true}})
	}
	sort.Slice(periodic, func(i, j int) bool { return periodic[i].ID < periodic[j].ID })
	var sig strings.Builder
	for _, p := range periodic {
		sig.WriteString(p.ID + ";")
	}
	in.rec.mu.Lock()
	changed := sig.String() != in.rec.last
	in.rec.last = sig.String()
	in.rec.mu.Unlock()
	if changed {
		in.q.SetPeriodic("ingest", periodic)
	}
	return nil
}

// RunReconciler re-reconciles every interval until ctx ends.
func (in *Ingest) RunReconciler(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := in.Reconcile(ctx); err != nil && ctx.Err() == nil {
			in.log.Warn("reconciling pollers and schedules", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (in *Ingest) workPoll(ctx context.Context, job *queue.Info) error {
	var p pollJob
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return nil
	}
	return in.Poll(ctx, p.Connection, p.Trigger)
}

// Poll runs one poll of a connection's trigger: events and the new cursor
// commit together, so a crash neither loses nor repeats a page.
func (in *Ingest) Poll(ctx context.Context, connName, trigger string) error {
	conn, spec, err := in.conns.Get(ctx, connName)
	if err != nil {
		return err
	}
	poller, ok := conn.(connector.Poller)
	if !ok {
		return fmt.Errorf("connector %s cannot poll", spec.Name)
	}
	source := connName + "/" + trigger
	for page := 0; page < 20; page++ {
		cursor, err := in.st.GetCursor(ctx, in.st.Reader(), connName, trigger)
		if err != nil {
			return err
		}
		keys, err := in.st.WaitKeys(ctx, in.st.Reader(), source, 10000)
		if err != nil {
			return err
		}
		var configs []map[string]any
		if flows, err := in.flows.ForSource(ctx, source); err == nil {
			for _, fl := range flows {
				configs = append(configs, fl.Trigger.Config)
			}
		}
		res, err := poller.Poll(ctx, trigger, &connector.PollRequest{Cursor: cursor, Configs: configs, Keys: keys})
		if err != nil {
			return fmt.Errorf("polling %s: %w", source, err)
		}
		next := res.Cursor
		_, err = in.Accept(ctx, &Batch{Source: connName, Trigger: trigger, Events: res.Events,
			Extra: func(ctx context.Context, tx store.Tx) error {
				if next == cursor {
					return nil
				}
				return in.st.SetCursor(ctx, tx, connName, trigger, next)
			}})
		if err != nil {
			return err
		}
		if !res.More {
			return nil
		}
	}
	return nil
}

func (in *Ingest) workCron(ctx context.Context, job *queue.Info) error {
	var p cronJob
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return nil
	}
	fl, err := in.flows.Active(ctx, p.Flow)
	if err != nil {
		return nil // the flow was removed or disabled since
	}
	tick := in.cfg.Now().Truncate(time.Second)
	_, err = in.Accept(ctx, &Batch{Source: "schedule", Trigger: fl.Name, Flow: fl.Name, Events: []connector.Event{{
		ID: fl.Name + "@" + tick.Format(time.RFC3339), Type: "schedule.tick", Time: tick,
		Data: map[string]any{"scheduled_at": tick.Format(time.RFC3339), "cron": fl.Trigger.Cron},
	}}})
	return err
}
