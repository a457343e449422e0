package mangopay

import (
	"context"
	"time"
)

// SetSleep replaces how the client waits between attempts, so that tests see the waits without
// waiting.
func (c *Client) SetSleep(sleep func(ctx context.Context, d time.Duration) error) { c.sleep = sleep }
