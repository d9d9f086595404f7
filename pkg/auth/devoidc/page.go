package devoidc

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

type field struct{ Name, Value string }

type pageData struct {
	Personas []Persona
	Hidden   []field
	Client   string
	Action   string
	Error    string
	Info     string
}

// pageStyle is the only style of the picker; the CSP allows it by hash.
const pageStyle = `body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.4rem}.note{background:#fff4d6;border:1px solid #c99a00;padding:.5rem 1rem;border-radius:.4rem}
ul{list-style:none;padding:0}li{margin-block:.5rem}
button{width:100%;text-align:start;font:inherit;padding:.75rem 1rem;border:1px solid #4a5a6a;border-radius:.4rem;background:#fff;cursor:pointer}
button:hover,button:focus-visible{background:#eef4fb;outline:3px solid #1a5fb4;outline-offset:2px}
.about{display:block;color:#3d4753;font-size:.9rem}.roles{display:block;font-size:.85rem;color:#3d4753}`

var pageTemplate = template.Must(template.New("picker").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>deiops dev sign-in</title><style>` + pageStyle + `</style></head>
<body><main>
<h1>deiops development sign-in</h1>
<p class="note">This is the development identity provider of <code>deiops dev</code>. It stands in for the hospital's
single sign-on: pick who you want to be. There are no passwords. Never expose it.</p>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
{{if .Info}}<p>{{.Info}}</p>{{end}}
{{if .Personas}}
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">{{end}}
<h2>Sign in to {{.Client}} as</h2>
<ul>
{{range .Personas}}<li><button type="submit" name="persona" value="{{.Subject}}"><strong>{{.Name}}</strong>
<span class="about">{{.About}}</span><span class="roles">roles: {{range $i, $r := .Roles}}{{if $i}}, {{end}}{{$r}}{{end}}</span></button></li>
{{end}}</ul>
</form>
{{end}}
</main></body></html>`))

func styleHash() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func (p *Provider) page(w http.ResponseWriter, status int, d pageData) {
	h := w.Header()
	// The picker's form redirects to the client, so form-action names the
	// registered redirect origins as well as this provider.
	origins := []string{"'self'"}
	for _, c := range p.o.Clients {
		for _, u := range c.RedirectURIs {
			if pu, err := url.Parse(u); err == nil {
				origins = append(origins, pu.Scheme+"://"+pu.Host)
			}
		}
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src "+styleHash()+"; form-action "+strings.Join(origins, " ")+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = pageTemplate.Execute(w, d)
}
