package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/config"
)

// base is a valid configuration read from an environment holding only the
// settings without defaults.
func base(t *testing.T) config.Config {
	t.Helper()
	t.Setenv("DEIOPS_AUTH_DEV", "true")
	t.Setenv("DEIOPS_CRYPTO_KEYRING", "k1:placeholder")
	t.Setenv("DEIOPS_PRIVACY_HMAC_SECRET", "placeholder")
	c, err := config.Read()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("base configuration invalid: %v", err)
	}
	return c
}

func TestNotifyDefaults(t *testing.T) {
	n := base(t).Notify
	if n.SMTPAddr != "" || n.WebhookURL != "" || n.SMTPFrom != "deiops <no-reply@localhost>" || n.SMTPStartTLS != "auto" || n.Timeout != 10*time.Second {
		t.Errorf("defaults %+v", n)
	}
	vars, err := config.Variables()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, v := range vars {
		names[v.Name] = v.Description != ""
	}
	for _, want := range []string{"SMTP_ADDR", "SMTP_FROM", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_STARTTLS",
		"WEBHOOK_URL", "WEBHOOK_SECRET", "FALLBACK_EMAIL", "TIMEOUT"} {
		if described, ok := names["DEIOPS_NOTIFY_"+want]; !ok || !described {
			t.Errorf("DEIOPS_NOTIFY_%s missing or undescribed", want)
		}
	}
}

func TestNotifyValidationReportsEveryProblem(t *testing.T) {
	c := base(t)
	c.Notify = config.Notify{
		SMTPAddr:      "smtp.example.org",
		SMTPFrom:      "not an address",
		SMTPUsername:  "deiops",
		SMTPStartTLS:  "sometimes",
		WebhookURL:    "ftp://hooks.example.org/x",
		WebhookSecret: "short",
		FallbackEmail: "dei office",
		Timeout:       0,
	}
	err := c.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"DEIOPS_NOTIFY_SMTP_ADDR", "DEIOPS_NOTIFY_SMTP_FROM", "DEIOPS_NOTIFY_SMTP_USERNAME",
		"DEIOPS_NOTIFY_SMTP_STARTTLS", "DEIOPS_NOTIFY_WEBHOOK_URL", "DEIOPS_NOTIFY_WEBHOOK_SECRET",
		"DEIOPS_NOTIFY_FALLBACK_EMAIL", "DEIOPS_NOTIFY_TIMEOUT"} {
		if !strings.Contains(err.Error(), want+":") {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestNotifyValidationCases(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*config.Notify)
		bad  string // variable named in the error; empty: valid
	}{
		{"email and webhook", func(n *config.Notify) {
			n.SMTPAddr, n.SMTPFrom, n.FallbackEmail = "smtp.example.org:587", "DEI Office <dei@example.org>", "dei-office@example.org"
			n.SMTPUsername, n.SMTPPassword, n.SMTPStartTLS = "deiops", "pw", "always"
			n.WebhookURL, n.WebhookSecret = "https://hooks.example.org/deiops?token=x", "0123456789abcdef"
		}, ""},
		{"webhook without secret", func(n *config.Notify) { n.WebhookURL = "https://hooks.example.org/x" }, "DEIOPS_NOTIFY_WEBHOOK_SECRET"},
		{"relative webhook URL", func(n *config.Notify) { n.WebhookURL, n.WebhookSecret = "/hooks", "0123456789abcdef" }, "DEIOPS_NOTIFY_WEBHOOK_URL"},
		{"secret without URL is ignored", func(n *config.Notify) { n.WebhookSecret = "x" }, ""},
		{"port out of range", func(n *config.Notify) { n.SMTPAddr = "smtp.example.org:70000" }, "DEIOPS_NOTIFY_SMTP_ADDR"},
		{"password without user", func(n *config.Notify) { n.SMTPPassword = "pw" }, "DEIOPS_NOTIFY_SMTP_USERNAME"},
		{"credentials in the clear to a remote server", func(n *config.Notify) {
			n.SMTPAddr, n.SMTPUsername, n.SMTPPassword, n.SMTPStartTLS = "smtp.example.org:25", "u", "p", "never"
		}, "DEIOPS_NOTIFY_SMTP_STARTTLS"},
		{"credentials in the clear to localhost", func(n *config.Notify) {
			n.SMTPAddr, n.SMTPUsername, n.SMTPPassword, n.SMTPStartTLS = "localhost:1025", "u", "p", "never"
		}, ""},
		{"timeout not below the ack wait", func(n *config.Notify) { n.Timeout = 30 * time.Second }, "DEIOPS_NOTIFY_TIMEOUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base(t)
			tc.edit(&c.Notify)
			err := c.Validate()
			switch {
			case tc.bad == "" && err != nil:
				t.Errorf("rejected: %v", err)
			case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad+":")):
				t.Errorf("want an error naming %s, got %v", tc.bad, err)
			}
		})
	}
}
