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
	// FailedRetryAlone is FailedRetry when there is no support address.
	FailedRetryAlone string

	// The mail that lists a customer's orders (order_links).
	LinksSubject string // %s: the shop
	LinksIntro   string // %s: the shop
	LinksPreview string
	LinksOrder   string // %s: the order's date
	LinksMore    string // %d: the files not named
	ViewOrder    string // the button to one order's page
	LinksNotYou  string

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

	// Page are the words of the order page.
	Page PagePhrases
}

// PagePhrases are the words of the order page (package download), kept in
// the mails' phrase tables so that the page speaks the language the mail
// did. A phrase with %s or %d is a format for fmt.Sprintf; the page escapes
// the result.
type PagePhrases struct {
	Title          string // %s: the heading, %s: the shop
	OrderPlaced    string // %s: the order's date
	AvailableUntil string // %s: the moment access ends
	SaveEach       string
	DownloadsLeft  string // %s: Unlimited or LeftOf
	Unlimited      string
	LeftOf         string // %d of %d downloads
	DownloadLabel  string // the button's label for screen readers; %s: title, file name, size
	UsedAll        string
	Footer         string // %s: the support address
	Bytes          string // %d: a size under a kilobyte
	// Units are the units of a size from a kilobyte up, in steps of 1000.
	Units [5]string
	// ExpiredUntil is Expired's advice when the page knows when access
	// ended (%s).
	ExpiredUntil string

	// What each page is about: a heading and a line of advice.
	Open, Limit, Pending, PaymentFailed, Revoked, Expired, Unknown, Busy, Unavailable, Unrecorded, Missing, Fault, Invalid PageKind

	// The "Lost your link?" page: its form, what it answers, and the link
	// to it from every other page.
	Lost, LostSent, LostBusy, LostUnavailable PageKind
	LostLink                                  string
	EmailLabel                                string
	SendLinks                                 string
	LostInvalid                               string
}

// PageKind is the heading of one kind of order page and its advice.
type PageKind struct{ Heading, Advice string }

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
	FailedRetryAlone: "You are welcome to try again.",
	LinksSubject:     "Your orders from %s",
	LinksIntro:       "You asked for the links to your orders from %s. Here they are:",
	LinksPreview:     "The links to your orders.",
	LinksOrder:       "Order of %s",
	LinksMore:        "and %d more",
	ViewOrder:        "Open this order",
	LinksNotYou:      "If you did not ask for this mail, you can ignore it: it went only to you.",
	Field:            "%s: %s",
	Order:            "Order",
	Date:             "Date",
	TotalPaid:        "Total paid",
	Total:            "Total",
	Footer:           "You receive this mail because you placed an order with %s.",
	Months:           [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	Weekdays:         [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
	Page: PagePhrases{
		Title:          "%s · %s",
		OrderPlaced:    "Order placed on %s.",
		AvailableUntil: "Your downloads are available until %s.",
		SaveEach:       "Save each file somewhere safe, such as your computer or a backup.",
		DownloadsLeft:  "downloads left: %s",
		Unlimited:      "unlimited",
		LeftOf:         "%d of %d",
		DownloadLabel:  "Download %s (%s, %s)",
		UsedAll:        "You have used every download of this file.",
		Footer:         "Questions? Write to %s.",
		Bytes:          "%d bytes",
		Units:          [5]string{"kB", "MB", "GB", "TB", "PB"},
		ExpiredUntil:   "The files of this order could be downloaded until %s. If you still need them, write to support.",
		Open: PageKind{"Your downloads",
			"Each click on Download starts a fresh, short-lived download; if one is interrupted, come back to this page and click again."},
		Limit: PageKind{"Download limit reached",
			"Every file of this order has been downloaded as often as allowed. If you lost a file, write to support and we will help."},
		Pending: PageKind{"Your payment is being confirmed",
			"Your files will appear on this page as soon as the payment is confirmed, and we will send you a mail. Please check back later."},
		PaymentFailed: PageKind{"The payment did not go through",
			"No files can be downloaded for this order. You can place the order again, or write to support if you were charged."},
		Revoked: PageKind{"Access to this order has ended",
			"The payment for this order was refunded or disputed, or the shop ended access, so its files can no longer be downloaded. If you think this is a mistake, write to support."},
		Expired: PageKind{"The download period is over",
			"The download period of this order is over. If you still need its files, write to support."},
		Unknown: PageKind{"We cannot find this order",
			"The link may be for an order that is still being processed; try again in a few minutes. If it still does not work, write to support with the address you ordered with."},
		Busy: PageKind{"Too many requests",
			"This order's page was opened very often in a short time. Please wait a minute and try again."},
		Unavailable: PageKind{"Downloads are briefly unavailable",
			"Please try again in a minute; nothing was counted."},
		Unrecorded: PageKind{"Downloads are briefly unavailable",
			"Please go back to this order's page in a minute: if this click was counted, it shows there in the downloads left. Then click Download again."},
		Missing: PageKind{"This file cannot be downloaded",
			"The file is missing on our side, and nothing was counted. Please write to support and we will send it to you."},
		Fault: PageKind{"Downloads are unavailable",
			"Something on our side needs fixing, and nothing was counted. Please write to support and we will help."},
		Invalid: PageKind{"This link is not valid",
			"Please use the link from your order mail exactly as it was sent. If it still does not work, write to support."},
		Lost: PageKind{"Lost your link?",
			"Enter the email address you ordered with. If we have orders for it, we send their links to that address."},
		LostSent: PageKind{"Check your inbox",
			"If we have orders for this address that can still be downloaded, we have sent their links to it. The mail may take a few minutes; please look in your spam folder too."},
		LostBusy: PageKind{"Too many requests",
			"Many requests came from your network in a short time. Please wait a while and try again."},
		LostUnavailable: PageKind{"Briefly unavailable",
			"We could not look your orders up just now. Please try again in a minute."},
		LostLink:    "Lost your link?",
		EmailLabel:  "Email address",
		SendLinks:   "Send me my links",
		LostInvalid: "Please enter a valid email address.",
	},
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
	FailedRetryAlone: "Sie können es gern noch einmal versuchen.",
	LinksSubject:     "Ihre Bestellungen bei %s",
	LinksIntro:       "Sie haben die Links zu Ihren Bestellungen bei %s angefordert. Hier sind sie:",
	LinksPreview:     "Die Links zu Ihren Bestellungen.",
	LinksOrder:       "Bestellung vom %s",
	LinksMore:        "und %d weitere",
	ViewOrder:        "Bestellung öffnen",
	LinksNotYou:      "Wenn Sie diese E-Mail nicht angefordert haben, können Sie sie ignorieren: Sie ging nur an Sie.",
	Field:            "%s: %s",
	Order:            "Bestellung",
	Date:             "Datum",
	TotalPaid:        "Bezahlt",
	Total:            "Summe",
	Footer:           "Sie erhalten diese E-Mail, weil Sie bei %s bestellt haben.",
	Months:           [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
	Weekdays:         [7]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
	Page: PagePhrases{
		Title:          "%s · %s",
		OrderPlaced:    "Bestellt am %s.",
		AvailableUntil: "Ihre Downloads sind bis %s verfügbar.",
		SaveEach:       "Speichern Sie jede Datei an einem sicheren Ort, etwa auf Ihrem Computer oder in einer Sicherung.",
		DownloadsLeft:  "verbleibende Downloads: %s",
		Unlimited:      "unbegrenzt",
		LeftOf:         "%d von %d",
		DownloadLabel:  "%s herunterladen (%s, %s)",
		UsedAll:        "Sie haben alle Downloads dieser Datei genutzt.",
		Footer:         "Fragen? Schreiben Sie an %s.",
		Bytes:          "%d Bytes",
		Units:          [5]string{"kB", "MB", "GB", "TB", "PB"},
		ExpiredUntil:   "Die Dateien dieser Bestellung konnten bis %s heruntergeladen werden. Wenn Sie sie noch brauchen, schreiben Sie an den Support.",
		Open: PageKind{"Ihre Downloads",
			"Jeder Klick auf „Herunterladen“ startet einen neuen, kurzlebigen Download; wird einer unterbrochen, kommen Sie auf diese Seite zurück und klicken Sie erneut."},
		Limit: PageKind{"Download-Limit erreicht",
			"Jede Datei dieser Bestellung wurde so oft heruntergeladen wie erlaubt. Wenn Sie eine Datei verloren haben, schreiben Sie an den Support, wir helfen Ihnen."},
		Pending: PageKind{"Ihre Zahlung wird bestätigt",
			"Ihre Dateien erscheinen auf dieser Seite, sobald die Zahlung bestätigt ist, und wir senden Ihnen eine E-Mail. Bitte schauen Sie später wieder vorbei."},
		PaymentFailed: PageKind{"Die Zahlung ist nicht durchgegangen",
			"Für diese Bestellung können keine Dateien heruntergeladen werden. Sie können die Bestellung erneut aufgeben oder an den Support schreiben, falls Ihnen etwas berechnet wurde."},
		Revoked: PageKind{"Der Zugang zu dieser Bestellung ist beendet",
			"Die Zahlung für diese Bestellung wurde erstattet oder angefochten, oder der Shop hat den Zugang beendet; ihre Dateien können nicht mehr heruntergeladen werden. Wenn Sie dies für einen Fehler halten, schreiben Sie an den Support."},
		Expired: PageKind{"Der Download-Zeitraum ist vorbei",
			"Der Download-Zeitraum dieser Bestellung ist vorbei. Wenn Sie ihre Dateien noch brauchen, schreiben Sie an den Support."},
		Unknown: PageKind{"Wir finden diese Bestellung nicht",
			"Der Link gehört vielleicht zu einer Bestellung, die noch bearbeitet wird; versuchen Sie es in ein paar Minuten erneut. Wenn er dann noch nicht funktioniert, schreiben Sie an den Support, mit der Adresse, mit der Sie bestellt haben."},
		Busy: PageKind{"Zu viele Anfragen",
			"Die Seite dieser Bestellung wurde in kurzer Zeit sehr oft geöffnet. Bitte warten Sie eine Minute und versuchen Sie es erneut."},
		Unavailable: PageKind{"Downloads sind kurz nicht verfügbar",
			"Bitte versuchen Sie es in einer Minute erneut; es wurde nichts gezählt."},
		Unrecorded: PageKind{"Downloads sind kurz nicht verfügbar",
			"Bitte öffnen Sie die Seite dieser Bestellung in einer Minute erneut: Wurde dieser Klick gezählt, zeigen es dort die verbleibenden Downloads. Klicken Sie dann erneut auf „Herunterladen“."},
		Missing: PageKind{"Diese Datei kann nicht heruntergeladen werden",
			"Die Datei fehlt bei uns, und es wurde nichts gezählt. Bitte schreiben Sie an den Support, wir senden sie Ihnen."},
		Fault: PageKind{"Downloads sind nicht verfügbar",
			"Bei uns muss etwas behoben werden, und es wurde nichts gezählt. Bitte schreiben Sie an den Support, wir helfen Ihnen."},
		Invalid: PageKind{"Dieser Link ist ungültig",
			"Bitte verwenden Sie den Link aus Ihrer Bestell-E-Mail genau so, wie er gesendet wurde. Wenn er dann noch nicht funktioniert, schreiben Sie an den Support."},
		Lost: PageKind{"Link verloren?",
			"Geben Sie die E-Mail-Adresse ein, mit der Sie bestellt haben. Wenn wir Bestellungen zu dieser Adresse haben, senden wir ihre Links an diese Adresse."},
		LostSent: PageKind{"Sehen Sie in Ihr Postfach",
			"Wenn wir Bestellungen zu dieser Adresse haben, die noch heruntergeladen werden können, haben wir ihre Links an sie gesendet. Die E-Mail kann einige Minuten brauchen; sehen Sie bitte auch im Spam-Ordner nach."},
		LostBusy: PageKind{"Zu viele Anfragen",
			"Aus Ihrem Netz kamen in kurzer Zeit viele Anfragen. Bitte warten Sie eine Weile und versuchen Sie es erneut."},
		LostUnavailable: PageKind{"Kurz nicht verfügbar",
			"Wir konnten Ihre Bestellungen gerade nicht nachschlagen. Bitte versuchen Sie es in einer Minute erneut."},
		LostLink:    "Link verloren?",
		EmailLabel:  "E-Mail-Adresse",
		SendLinks:   "Links senden",
		LostInvalid: "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
	},
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
	FailedRetryAlone: "N’hésitez pas à réessayer.",
	LinksSubject:     "Vos commandes chez %s",
	LinksIntro:       "Vous avez demandé les liens de vos commandes chez %s. Les voici\u00a0:",
	LinksPreview:     "Les liens de vos commandes.",
	LinksOrder:       "Commande du %s",
	LinksMore:        "et %d de plus",
	ViewOrder:        "Ouvrir cette commande",
	LinksNotYou:      "Si vous n’avez pas demandé ce message, vous pouvez l’ignorer\u00a0: il n’a été envoyé qu’à vous.",
	Field:            "%s\u00a0: %s",
	Order:            "Commande",
	Date:             "Date",
	TotalPaid:        "Total payé",
	Total:            "Total",
	Footer:           "Vous recevez ce message parce que vous avez passé commande chez %s.",
	Months:           [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
	Weekdays:         [7]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
	Page: PagePhrases{
		Title:          "%s · %s",
		OrderPlaced:    "Commande passée le %s.",
		AvailableUntil: "Vos téléchargements sont disponibles jusqu’au %s.",
		SaveEach:       "Conservez chaque fichier en lieu sûr, par exemple sur votre ordinateur ou une sauvegarde.",
		DownloadsLeft:  "téléchargements restants\u00a0: %s",
		Unlimited:      "illimités",
		LeftOf:         "%d sur %d",
		DownloadLabel:  "Télécharger %s (%s, %s)",
		UsedAll:        "Vous avez utilisé tous les téléchargements de ce fichier.",
		Footer:         "Des questions\u00a0? Écrivez à %s.",
		Bytes:          "%d octets",
		Units:          [5]string{"ko", "Mo", "Go", "To", "Po"},
		ExpiredUntil:   "Les fichiers de cette commande pouvaient être téléchargés jusqu’au %s. Si vous en avez encore besoin, écrivez au support.",
		Open: PageKind{"Vos téléchargements",
			"Chaque clic sur Télécharger lance un nouveau téléchargement de courte durée\u00a0; s’il est interrompu, revenez sur cette page et cliquez de nouveau."},
		Limit: PageKind{"Limite de téléchargements atteinte",
			"Chaque fichier de cette commande a été téléchargé autant de fois que permis. Si vous avez perdu un fichier, écrivez au support et nous vous aiderons."},
		Pending: PageKind{"Votre paiement est en cours de confirmation",
			"Vos fichiers apparaîtront sur cette page dès que le paiement sera confirmé, et nous vous enverrons un message. Merci de revenir plus tard."},
		PaymentFailed: PageKind{"Le paiement n’a pas abouti",
			"Aucun fichier ne peut être téléchargé pour cette commande. Vous pouvez passer la commande de nouveau, ou écrire au support si vous avez été débité."},
		Revoked: PageKind{"L’accès à cette commande a pris fin",
			"Le paiement de cette commande a été remboursé ou contesté, ou la boutique a mis fin à l’accès\u00a0: ses fichiers ne peuvent plus être téléchargés. Si vous pensez qu’il s’agit d’une erreur, écrivez au support."},
		Expired: PageKind{"La période de téléchargement est terminée",
			"La période de téléchargement de cette commande est terminée. Si vous avez encore besoin de ses fichiers, écrivez au support."},
		Unknown: PageKind{"Nous ne trouvons pas cette commande",
			"Le lien concerne peut-être une commande encore en cours de traitement\u00a0; réessayez dans quelques minutes. S’il ne fonctionne toujours pas, écrivez au support en indiquant l’adresse utilisée pour la commande."},
		Busy: PageKind{"Trop de requêtes",
			"La page de cette commande a été ouverte très souvent en peu de temps. Veuillez patienter une minute et réessayer."},
		Unavailable: PageKind{"Les téléchargements sont momentanément indisponibles",
			"Veuillez réessayer dans une minute\u00a0; rien n’a été compté."},
		Unrecorded: PageKind{"Les téléchargements sont momentanément indisponibles",
			"Revenez sur la page de cette commande dans une minute\u00a0: si ce clic a été compté, les téléchargements restants l’indiquent. Cliquez ensuite de nouveau sur Télécharger."},
		Missing: PageKind{"Ce fichier ne peut pas être téléchargé",
			"Le fichier manque de notre côté, et rien n’a été compté. Veuillez écrire au support et nous vous l’enverrons."},
		Fault: PageKind{"Les téléchargements sont indisponibles",
			"Quelque chose doit être réparé de notre côté, et rien n’a été compté. Veuillez écrire au support et nous vous aiderons."},
		Invalid: PageKind{"Ce lien n’est pas valide",
			"Veuillez utiliser le lien de votre message de commande exactement tel qu’il a été envoyé. S’il ne fonctionne toujours pas, écrivez au support."},
		Lost: PageKind{"Lien perdu\u00a0?",
			"Saisissez l’adresse e-mail utilisée pour votre commande. Si nous avons des commandes pour cette adresse, nous y envoyons leurs liens."},
		LostSent: PageKind{"Consultez votre boîte de réception",
			"Si nous avons pour cette adresse des commandes encore téléchargeables, nous y avons envoyé leurs liens. Le message peut mettre quelques minutes\u00a0; pensez aussi à regarder dans vos courriers indésirables."},
		LostBusy: PageKind{"Trop de demandes",
			"De nombreuses demandes sont venues de votre réseau en peu de temps. Veuillez patienter un moment puis réessayer."},
		LostUnavailable: PageKind{"Momentanément indisponible",
			"Nous n’avons pas pu consulter vos commandes pour l’instant. Veuillez réessayer dans une minute."},
		LostLink:    "Lien perdu\u00a0?",
		EmailLabel:  "Adresse e-mail",
		SendLinks:   "Envoyer mes liens",
		LostInvalid: "Veuillez saisir une adresse e-mail valide.",
	},
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
	FailedRetryAlone: "Puedes volver a intentarlo.",
	LinksSubject:     "Tus pedidos en %s",
	LinksIntro:       "Has pedido los enlaces de tus pedidos en %s. Aquí los tienes:",
	LinksPreview:     "Los enlaces de tus pedidos.",
	LinksOrder:       "Pedido del %s",
	LinksMore:        "y %d más",
	ViewOrder:        "Abrir este pedido",
	LinksNotYou:      "Si no has pedido este correo, puedes ignorarlo: solo se te ha enviado a ti.",
	Field:            "%s: %s",
	Order:            "Pedido",
	Date:             "Fecha",
	TotalPaid:        "Total pagado",
	Total:            "Total",
	Footer:           "Recibes este correo porque hiciste un pedido en %s.",
	Months:           [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
	Weekdays:         [7]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
	Page: PagePhrases{
		Title:          "%s · %s",
		OrderPlaced:    "Pedido realizado el %s.",
		AvailableUntil: "Tus descargas están disponibles hasta el %s.",
		SaveEach:       "Guarda cada archivo en un lugar seguro, como tu ordenador o una copia de seguridad.",
		DownloadsLeft:  "descargas restantes: %s",
		Unlimited:      "ilimitadas",
		LeftOf:         "%d de %d",
		DownloadLabel:  "Descargar %s (%s, %s)",
		UsedAll:        "Has usado todas las descargas de este archivo.",
		Footer:         "¿Preguntas? Escribe a %s.",
		Bytes:          "%d bytes",
		Units:          [5]string{"kB", "MB", "GB", "TB", "PB"},
		ExpiredUntil:   "Los archivos de este pedido se podían descargar hasta el %s. Si todavía los necesitas, escribe al soporte.",
		Open: PageKind{"Tus descargas",
			"Cada clic en Descargar inicia una descarga nueva y de corta duración; si se interrumpe, vuelve a esta página y haz clic de nuevo."},
		Limit: PageKind{"Límite de descargas alcanzado",
			"Cada archivo de este pedido se ha descargado tantas veces como se permite. Si has perdido un archivo, escribe al soporte y te ayudaremos."},
		Pending: PageKind{"Estamos confirmando tu pago",
			"Tus archivos aparecerán en esta página en cuanto se confirme el pago, y te enviaremos un correo. Vuelve a consultarla más tarde."},
		PaymentFailed: PageKind{"El pago no se ha completado",
			"No se puede descargar ningún archivo de este pedido. Puedes volver a hacer el pedido, o escribir al soporte si se te ha cobrado."},
		Revoked: PageKind{"El acceso a este pedido ha terminado",
			"El pago de este pedido se ha reembolsado o disputado, o la tienda ha terminado el acceso, así que sus archivos ya no se pueden descargar. Si crees que se trata de un error, escribe al soporte."},
		Expired: PageKind{"El periodo de descarga ha terminado",
			"El periodo de descarga de este pedido ha terminado. Si todavía necesitas sus archivos, escribe al soporte."},
		Unknown: PageKind{"No encontramos este pedido",
			"Puede que el enlace sea de un pedido que todavía se está procesando; inténtalo de nuevo en unos minutos. Si sigue sin funcionar, escribe al soporte con la dirección con la que hiciste el pedido."},
		Busy: PageKind{"Demasiadas solicitudes",
			"La página de este pedido se ha abierto muchas veces en poco tiempo. Espera un minuto y vuelve a intentarlo."},
		Unavailable: PageKind{"Las descargas no están disponibles por un momento",
			"Vuelve a intentarlo en un minuto; no se ha contado nada."},
		Unrecorded: PageKind{"Las descargas no están disponibles por un momento",
			"Vuelve a la página de este pedido en un minuto: si este clic se ha contado, se verá en las descargas restantes. Después haz clic en Descargar de nuevo."},
		Missing: PageKind{"Este archivo no se puede descargar",
			"El archivo falta por nuestra parte y no se ha contado nada. Escribe al soporte y te lo enviaremos."},
		Fault: PageKind{"Las descargas no están disponibles",
			"Hay algo que arreglar por nuestra parte y no se ha contado nada. Escribe al soporte y te ayudaremos."},
		Invalid: PageKind{"Este enlace no es válido",
			"Usa el enlace de tu correo del pedido exactamente como se envió. Si sigue sin funcionar, escribe al soporte."},
		Lost: PageKind{"¿Has perdido tu enlace?",
			"Escribe la dirección de correo con la que hiciste el pedido. Si tenemos pedidos para ella, enviaremos sus enlaces a esa dirección."},
		LostSent: PageKind{"Revisa tu bandeja de entrada",
			"Si tenemos pedidos para esta dirección que aún se pueden descargar, te hemos enviado sus enlaces. El correo puede tardar unos minutos; revisa también la carpeta de spam."},
		LostBusy: PageKind{"Demasiadas solicitudes",
			"Han llegado muchas solicitudes desde tu red en poco tiempo. Espera un rato y vuelve a intentarlo."},
		LostUnavailable: PageKind{"No disponible por un momento",
			"No hemos podido consultar tus pedidos ahora mismo. Vuelve a intentarlo en un minuto."},
		LostLink:    "¿Has perdido tu enlace?",
		EmailLabel:  "Correo electrónico",
		SendLinks:   "Enviarme mis enlaces",
		LostInvalid: "Escribe una dirección de correo válida.",
	},
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
