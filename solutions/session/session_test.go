package session_test

import (
	"testing"

	"github.com/dsgym/dsgym/pkg/session/drill"
	"github.com/dsgym/dsgym/solutions/session"
)

func TestRouteRead(t *testing.T) { drill.RouteRead.Test(t, session.RouteRead) }

func TestCheckReadYourWrites(t *testing.T) {
	drill.CheckReadYourWrites.Test(t, session.CheckReadYourWrites)
}
