package auth

// FillHashSlots takes every argon2 slot of s, as a burst of logins would,
// and returns the function that frees them again. It exists only in tests,
// so that the bound can be tested without racing real hashing.
func FillHashSlots(s *Store) (release func()) {
	n := cap(s.hashSlots)
	for range n {
		s.hashSlots <- struct{}{}
	}
	return func() {
		for range n {
			<-s.hashSlots
		}
	}
}
