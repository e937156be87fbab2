package mail

import (
	"fmt"
	"strings"
	"time"
)

// Languages returns the languages the mails are written in; the first is
// the fallback for any other locale.
func Languages() []string { return []string{"en", "de", "fr", "es"} }

// Language returns the language of Languages a mail for a Checkout locale
// is written in: the locale's primary subtag when it is one of them ("fr"
// for "fr-CA", "es" for "es-419"), else "en" (also for "", "auto" and
// anything that is not a locale).
func Language(locale string) string {
	primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(locale)), "-")
	primary, _, _ = strings.Cut(primary, "_")
	for _, l := range Languages() {
		if primary == l {
			return l
		}
	}
	return "en"
}

// phrases are the words of the mails in one language. A phrase with %s or
// %d is a format for fmt.Sprintf; the templates escape the result.
type phrases struct {
	Lang           string // the HTML lang attribute
	Greeting       string // %s: the customer's name
	GreetingNoName string
	Regards        string

	DownloadsSubject string // %s: the shop
	DownloadsIntro   string // %s: the shop
	DownloadsPreview string // the inbox preview line
	Download         string // the button of one file
	ViewDownloads    string // the button to the order page
	OrderPageIntro   string
	YourFiles        string
	LinkWorksUntil   string // %s: the expiry
	SaveThem         string
	SaveThemPage     string // SaveThem when the mail links the order page
	CopyAddress      string // %s: the order page's link
	HelpLinks        string // %s: the support address
	HelpPage         string // HelpLinks when the mail links the order page

	FailedSubject string // %s: the shop
	FailedIntro   string // %s: the shop
	FailedRetry   string // %s: the support address

	// Field is a label and its value, "%s: %s" (French puts a no-break
	// space before the colon).
	Field     string
	Order     string
	Date      string
	TotalPaid string
	Total     string
	Footer    string // %s: the shop

	Months   [12]string
	Weekdays [7]string // Sunday first, as time.Weekday
}

var phrasesEN = phrases{
	Lang:             "en",
	Greeting:         "Hello %s,",
	GreetingNoName:   "Hello,",
	Regards:          "Kind regards,",
	DownloadsSubject: "Your downloads from %s",
	DownloadsIntro:   "Thank you for your order from %s. Your files are ready to download.",
	DownloadsPreview: "Your files are ready to download.",
	Download:         "Download",
	ViewDownloads:    "Go to your downloads",
	OrderPageIntro:   "Download them from your order page:",
	YourFiles:        "Your files",
	LinkWorksUntil:   "This link works until %s.",
	SaveThem:         "Please download your files and save them somewhere safe, such as your computer or a backup: the links stop working when they expire.",
	SaveThemPage:     "The page shows how many downloads each file has left and until when. Please save your files somewhere safe, such as your computer or a backup.",
	CopyAddress:      "If the button does not work, copy this address into your browser: %s",
	HelpPage:         "If the page does not work, or you need help, write to %s.",
	HelpLinks:        "If a link does not work, or you need help, write to %s.",
	FailedSubject:    "Your payment to %s did not go through",
	FailedIntro:      "Unfortunately the payment for your order from %s did not go through. Nothing was charged, and no files were delivered.",
	FailedRetry:      "You are welcome to try again. If you need help, or think this is a mistake, write to %s.",
	Field:            "%s: %s",
	Order:            "Order",
	Date:             "Date",
	TotalPaid:        "Total paid",
	Total:            "Total",
	Footer:           "You receive this mail because you placed an order with %s.",
	Months:           [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	Weekdays:         [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
}

var phrasesDE = phrases{
	Lang:             "de",
	Greeting:         "Hallo %s,",
	GreetingNoName:   "Hallo,",
	Regards:          "Viele Grüße",
	DownloadsSubject: "Ihre Downloads von %s",
	DownloadsIntro:   "Vielen Dank für Ihre Bestellung bei %s. Ihre Dateien stehen zum Herunterladen bereit.",
	DownloadsPreview: "Ihre Dateien stehen zum Herunterladen bereit.",
	Download:         "Herunterladen",
	ViewDownloads:    "Zu Ihren Downloads",
	OrderPageIntro:   "Laden Sie sie auf der Seite Ihrer Bestellung herunter:",
	YourFiles:        "Ihre Dateien",
	LinkWorksUntil:   "Dieser Link funktioniert bis %s.",
	SaveThem:         "Bitte laden Sie Ihre Dateien herunter und bewahren Sie sie an einem sicheren Ort auf, etwa auf Ihrem Computer oder in einer Sicherung: Die Links funktionieren nach Ablauf nicht mehr.",
	SaveThemPage:     "Die Seite zeigt, wie viele Downloads jede Datei noch hat und bis wann. Bitte speichern Sie Ihre Dateien an einem sicheren Ort, etwa auf Ihrem Computer oder in einer Sicherung.",
	CopyAddress:      "Wenn die Schaltfläche nicht funktioniert, kopieren Sie diese Adresse in Ihren Browser: %s",
	HelpPage:         "Wenn die Seite nicht funktioniert oder Sie Hilfe brauchen, schreiben Sie an %s.",
	HelpLinks:        "Wenn ein Link nicht funktioniert oder Sie Hilfe brauchen, schreiben Sie an %s.",
	FailedSubject:    "Ihre Zahlung an %s ist nicht durchgegangen",
	FailedIntro:      "Leider ist die Zahlung für Ihre Bestellung bei %s nicht durchgegangen. Es wurde nichts abgebucht, und es wurden keine Dateien geliefert.",
	FailedRetry:      "Sie können es gern noch einmal versuchen. Wenn Sie Hilfe brauchen oder dies für einen Fehler halten, schreiben Sie an %s.",
	Field:            "%s: %s",
	Order:            "Bestellung",
	Date:             "Datum",
	TotalPaid:        "Bezahlt",
	Total:            "Summe",
	Footer:           "Sie erhalten diese E-Mail, weil Sie bei %s bestellt haben.",
	Months:           [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
	Weekdays:         [7]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
}

var phrasesFR = phrases{
	Lang:             "fr",
	Greeting:         "Bonjour %s,",
	GreetingNoName:   "Bonjour,",
	Regards:          "Cordialement,",
	DownloadsSubject: "Vos téléchargements de %s",
	DownloadsIntro:   "Merci pour votre commande chez %s. Vos fichiers sont prêts à être téléchargés.",
	DownloadsPreview: "Vos fichiers sont prêts à être téléchargés.",
	Download:         "Télécharger",
	ViewDownloads:    "Accéder à vos téléchargements",
	OrderPageIntro:   "Téléchargez-les depuis la page de votre commande\u00a0:",
	YourFiles:        "Vos fichiers",
	LinkWorksUntil:   "Ce lien est valable jusqu’au %s.",
	SaveThem:         "Veuillez télécharger vos fichiers et les conserver en lieu sûr, par exemple sur votre ordinateur ou une sauvegarde\u00a0: les liens cessent de fonctionner à leur expiration.",
	SaveThemPage:     "La page indique combien de téléchargements il reste pour chaque fichier, et jusqu’à quand. Veuillez conserver vos fichiers en lieu sûr, par exemple sur votre ordinateur ou une sauvegarde.",
	CopyAddress:      "Si le bouton ne fonctionne pas, copiez cette adresse dans votre navigateur\u00a0: %s",
	HelpPage:         "Si la page ne fonctionne pas, ou si vous avez besoin d’aide, écrivez à %s.",
	HelpLinks:        "Si un lien ne fonctionne pas, ou si vous avez besoin d’aide, écrivez à %s.",
	FailedSubject:    "Votre paiement à %s n’a pas abouti",
	FailedIntro:      "Malheureusement, le paiement de votre commande chez %s n’a pas abouti. Rien n’a été débité et aucun fichier n’a été livré.",
	FailedRetry:      "N’hésitez pas à réessayer. Si vous avez besoin d’aide, ou pensez qu’il s’agit d’une erreur, écrivez à %s.",
	Field:            "%s\u00a0: %s",
	Order:            "Commande",
	Date:             "Date",
	TotalPaid:        "Total payé",
	Total:            "Total",
	Footer:           "Vous recevez ce message parce que vous avez passé commande chez %s.",
	Months:           [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
	Weekdays:         [7]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
}

var phrasesES = phrases{
	Lang:             "es",
	Greeting:         "Hola, %s:",
	GreetingNoName:   "Hola:",
	Regards:          "Un saludo,",
	DownloadsSubject: "Tus descargas de %s",
	DownloadsIntro:   "Gracias por tu pedido en %s. Tus archivos están listos para descargar.",
	DownloadsPreview: "Tus archivos están listos para descargar.",
	Download:         "Descargar",
	ViewDownloads:    "Ir a tus descargas",
	OrderPageIntro:   "Descárgalos desde la página de tu pedido:",
	YourFiles:        "Tus archivos",
	LinkWorksUntil:   "Este enlace funciona hasta el %s.",
	SaveThem:         "Descarga tus archivos y guárdalos en un lugar seguro, como tu ordenador o una copia de seguridad: los enlaces dejan de funcionar cuando caducan.",
	SaveThemPage:     "La página muestra cuántas descargas le quedan a cada archivo y hasta cuándo. Guarda tus archivos en un lugar seguro, como tu ordenador o una copia de seguridad.",
	CopyAddress:      "Si el botón no funciona, copia esta dirección en tu navegador: %s",
	HelpPage:         "Si la página no funciona, o necesitas ayuda, escribe a %s.",
	HelpLinks:        "Si un enlace no funciona, o necesitas ayuda, escribe a %s.",
	FailedSubject:    "Tu pago a %s no se ha completado",
	FailedIntro:      "Lamentablemente, el pago de tu pedido en %s no se ha completado. No se ha cobrado nada y no se ha entregado ningún archivo.",
	FailedRetry:      "Puedes volver a intentarlo. Si necesitas ayuda, o crees que se trata de un error, escribe a %s.",
	Field:            "%s: %s",
	Order:            "Pedido",
	Date:             "Fecha",
	TotalPaid:        "Total pagado",
	Total:            "Total",
	Footer:           "Recibes este correo porque hiciste un pedido en %s.",
	Months:           [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
	Weekdays:         [7]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
}

// phrasesFor returns the phrases of lang, one of Languages.
func phrasesFor(lang string) phrases {
	switch lang {
	case "de":
		return phrasesDE
	case "fr":
		return phrasesFR
	case "es":
		return phrasesES
	}
	return phrasesEN
}

// date writes t's day in UTC as the language writes a date:
// 14 March 2025, 14. März 2025, 14 mars 2025, 14 de marzo de 2025.
func (p phrases) date(t time.Time) string {
	t = t.UTC()
	d, m, y := t.Day(), p.Months[t.Month()-1], t.Year()
	switch p.Lang {
	case "de":
		return fmt.Sprintf("%d. %s %d", d, m, y)
	case "es":
		return fmt.Sprintf("%d de %s de %d", d, m, y)
	}
	return fmt.Sprintf("%d %s %d", d, m, y)
}

// moment writes t in UTC with its weekday, day and time, as the mails
// write the moment a link expires: Sunday, 13 April 2025 at 09:26 UTC.
func (p phrases) moment(t time.Time) string {
	t = t.UTC()
	wd, clock := p.Weekdays[t.Weekday()], t.Format("15:04")
	switch p.Lang {
	case "de":
		return fmt.Sprintf("%s, %s um %s UTC", wd, p.date(t), clock)
	case "fr":
		return fmt.Sprintf("%s %s à %s UTC", wd, p.date(t), clock)
	case "es":
		return fmt.Sprintf("%s, %s, a las %s UTC", wd, p.date(t), clock)
	}
	return t.Format(ExpiryLayout)
}
