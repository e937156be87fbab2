package mail

import (
	"strconv"
	"strings"
)

// decimals returns how many decimals currency (a lowercase ISO 4217 code)
// has in Stripe's amounts, which are in the currency's minor unit.
// Stripe's zero-decimal currencies take the amount as is (500 is ¥500), its
// three-decimal ones in thousandths; every other currency in hundredths
// (https://docs.stripe.com/currencies#zero-decimal; ISK, HUF and TWD are
// zero-decimal for payouts only and keep two decimals in charges).
func decimals(currency string) int {
	switch currency {
	case "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf":
		return 0
	case "bhd", "jod", "kwd", "omr", "tnd":
		return 3
	}
	return 2
}

// currencySymbol is the symbol the mails write for a currency, or "" to
// write its code.
func currencySymbol(currency string) string {
	switch currency {
	case "eur":
		return "€"
	case "usd":
		return "$"
	case "gbp":
		return "£"
	case "jpy":
		return "¥"
	}
	return ""
}

// money writes amount, in currency's minor unit, as the language writes a
// price: €1,234.50 and CHF 12.50 in English; 1.234,50 €, 1 234,50 € and
// 12,50 CHF (with no-break spaces) in German, French and Spanish.
func (p phrases) money(amount int64, currency string) string {
	currency = strings.ToLower(currency)
	group, point := ",", "."
	switch p.Lang {
	case "de", "es":
		group, point = ".", ","
	case "fr":
		group, point = "\u202f", ","
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	digits := strconv.FormatInt(amount, 10)
	n := decimals(currency)
	if len(digits) <= n {
		digits = strings.Repeat("0", n-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-n], digits[len(digits)-n:]
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(c)
	}
	number := sign + b.String()
	if n > 0 {
		number += point + frac
	}
	sym := currencySymbol(currency)
	switch {
	case p.Lang != "en" && sym != "":
		return number + "\u00a0" + sym
	case p.Lang != "en":
		return number + "\u00a0" + strings.ToUpper(currency)
	case sym != "":
		return sign + sym + strings.TrimPrefix(number, sign)
	}
	return strings.ToUpper(currency) + "\u00a0" + number
}
