package outbox_test

import (
	"testing"

	"github.com/dsgym/dsgym/pkg/outbox/drill"
	"github.com/dsgym/dsgym/solutions/outbox"
)

func TestWriteOrder(t *testing.T) { drill.WriteOrder.Test(t, outbox.WriteOrder) }

func TestApplyOnce(t *testing.T) { drill.ApplyOnce.Test(t, outbox.ApplyOnce) }

func TestConfirm(t *testing.T) { drill.Confirm.Test(t, outbox.Confirm) }
