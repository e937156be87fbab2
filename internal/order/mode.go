package order

// Mode names a Stripe mode for people: "live" or "test".
func Mode(livemode bool) string {
	if livemode {
		return "live"
	}
	return "test"
}
