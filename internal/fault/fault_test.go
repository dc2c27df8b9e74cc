package fault

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestKindOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{name: "plain", err: errors.New("x"), want: Transient},
		{name: "direct", err: E(NotFound, "getting asset"), want: NotFound},
		{name: "wrapped", err: fmt.Errorf("step: %w", E(Invalid, "bad")), want: Invalid},
		{name: "canceled", err: fmt.Errorf("x: %w", context.Canceled), want: Canceled},
		{name: "outermost wins", err: E(Permanent, "op", E(RateLimited, "inner")), want: Permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.want {
				t.Fatalf("KindOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEArguments(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	err := E(RateLimited, "calling iconik", base, 3*time.Second, 429)
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatal("not an *Error")
	}
	if fe.Op != "calling iconik" || fe.RetryAfter != 3*time.Second || fe.Status != 429 || !errors.Is(err, base) {
		t.Fatalf("got %+v", fe)
	}
	if err.Error() != "calling iconik: boom" {
		t.Fatalf("message %q", err.Error())
	}
	if RetryAfter(fmt.Errorf("w: %w", err)) != 3*time.Second {
		t.Fatal("RetryAfter lost through wrapping")
	}
}

func TestFromStatusAndParse(t *testing.T) {
	t.Parallel()
	cases := map[int]Kind{429: RateLimited, 401: Unauthorized, 404: NotFound, 409: Conflict, 422: Invalid, 500: Transient, 503: Transient}
	for st, want := range cases {
		if got := FromStatus(st); got != want {
			t.Errorf("FromStatus(%d) = %v, want %v", st, got, want)
		}
	}
	for k := Transient; k <= TooLarge; k++ {
		got, ok := ParseKind(k.String())
		if !ok || got != k {
			t.Errorf("ParseKind(%q) = %v %v", k.String(), got, ok)
		}
	}
}
