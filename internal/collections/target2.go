package collections

import "time"

// The TARGET2 calendar, on which SEPA direct debits settle: every day is a business day except
// Saturdays, Sundays, 1 January, Good Friday, Easter Monday, 1 May, 25 and 26 December.

// IsTARGET2BusinessDay reports whether the calendar day of d (in d's location) is a TARGET2
// business day.
func IsTARGET2BusinessDay(d time.Time) bool {
	switch d.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	y, m, day := d.Date()
	switch {
	case m == time.January && day == 1, m == time.May && day == 1,
		m == time.December && (day == 25 || day == 26):
		return false
	}
	easter := easterSunday(y)
	date := time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
	return !date.Equal(easter.AddDate(0, 0, -2)) && !date.Equal(easter.AddDate(0, 0, 1))
}

// DueDate is the due date of a collection closed on the calendar day of closedOn (in its
// location, Europe/Paris for a month close): the second TARGET2 business day after that day, at
// midnight UTC of that date.
func DueDate(closedOn time.Time) time.Time {
	y, m, d := closedOn.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	for found := 0; found < 2; {
		day = day.AddDate(0, 0, 1)
		if IsTARGET2BusinessDay(day) {
			found++
		}
	}
	return day
}

// easterSunday is the date of Easter Sunday in the Gregorian calendar (the anonymous Gregorian
// algorithm, "Meeus/Jones/Butcher"), at midnight UTC.
func easterSunday(y int) time.Time {
	a := y % 19
	b, c := y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(y, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}
