{{/*
Names, labels and the shared pieces of every pod: environment, volumes and
the validation of required values.
*/}}

{{- define "deiops.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "deiops.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "deiops.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "deiops.labels" -}}
helm.sh/chart: {{ include "deiops.chart" . }}
app.kubernetes.io/name: {{ include "deiops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "deiops.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/part-of: deiops
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select every pod of the release (NetworkPolicy, ServiceMonitor). */}}
{{- define "deiops.releaseSelectorLabels" -}}
app.kubernetes.io/name: {{ include "deiops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of one component; call with (dict "root" $ "component" $name). */}}
{{- define "deiops.selectorLabels" -}}
{{ include "deiops.releaseSelectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Object name of one component: the release name in monolithic mode, suffixed per target otherwise. */}}
{{- define "deiops.componentName" -}}
{{- if eq .component "all" }}
{{- include "deiops.fullname" .root }}
{{- else }}
{{- printf "%s-%s" (include "deiops.fullname" .root | trunc 52 | trimSuffix "-") .component }}
{{- end }}
{{- end }}

{{/* The components this release runs, as a JSON list: ["all"] or the enabled targets. */}}
{{- define "deiops.componentNames" -}}
{{- if eq .Values.mode "monolithic" }}
{{- list "all" | toJson }}
{{- else }}
{{- $names := list }}
{{- range $n := list "awareness" "connection" "resolution" "portal" }}
{{- if (index $.Values.components $n).enabled }}
{{- $names = append $names $n }}
{{- end }}
{{- end }}
{{- toJson $names }}
{{- end }}
{{- end }}

{{/* Workload settings of one component; call with (dict "root" $ "component" $name). */}}
{{- define "deiops.workload" -}}
{{- if eq .component "all" }}
{{- toJson .root.Values.monolithic }}
{{- else }}
{{- toJson (index .root.Values.components .component) }}
{{- end }}
{{- end }}

{{- define "deiops.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "deiops.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "deiops.imageTag" .) }}
{{- end }}
{{- end }}

{{- define "deiops.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "deiops.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Name of the Secret the chart renders from inline values. */}}
{{- define "deiops.secretName" -}}
{{- include "deiops.fullname" . }}
{{- end }}

{{/*
Every problem with required values, reported at once so that one
`helm install` names everything that is missing.
*/}}
{{- define "deiops.validate" -}}
{{- $errs := list }}
{{- $v := .Values }}
{{- if not $v.secrets.existingSecret }}
{{- if not $v.secrets.cryptoKeyring }}
{{- $errs = append $errs "secrets.cryptoKeyring is required (DEIOPS_CRYPTO_KEYRING, id:base64 of 32 random bytes, e.g. k1:$(openssl rand -base64 32)); or set secrets.existingSecret to a Secret holding it" }}
{{- else if not (contains ":" $v.secrets.cryptoKeyring) }}
{{- $errs = append $errs "secrets.cryptoKeyring must look like id:base64(32 bytes)[,id:base64...]" }}
{{- end }}
{{- if not $v.secrets.privacyHmacSecret }}
{{- $errs = append $errs "secrets.privacyHmacSecret is required (DEIOPS_PRIVACY_HMAC_SECRET, base64 of at least 32 random bytes, e.g. $(openssl rand -base64 32)); or set secrets.existingSecret to a Secret holding it" }}
{{- end }}
{{- end }}
{{- if not $v.auth.existingSecret }}
{{- if not $v.auth.issuer }}
{{- $errs = append $errs "auth.issuer is required (DEIOPS_AUTH_ISSUER, the OIDC issuer URL); or set auth.existingSecret" }}
{{- end }}
{{- if not $v.auth.jwksUrl }}
{{- $errs = append $errs "auth.jwksUrl is required (DEIOPS_AUTH_JWKS_URL, the issuer's JSON Web Key Set URL); or set auth.existingSecret" }}
{{- end }}
{{- end }}
{{- if not $v.nats.url }}
{{- $errs = append $errs "nats.url is required (DEIOPS_NATS_URL)" }}
{{- end }}
{{- if eq $v.nats.auth.method "creds" }}
{{- if and (not $v.nats.auth.creds) (not $v.nats.auth.existingSecret) }}
{{- $errs = append $errs "nats.auth.method=creds needs nats.auth.creds (the .creds file content) or nats.auth.existingSecret" }}
{{- end }}
{{- else if eq $v.nats.auth.method "password" }}
{{- if not $v.nats.auth.user }}
{{- $errs = append $errs "nats.auth.method=password needs nats.auth.user" }}
{{- end }}
{{- if and (not $v.nats.auth.password) (not $v.nats.auth.existingSecret) }}
{{- $errs = append $errs "nats.auth.method=password needs nats.auth.password or nats.auth.existingSecret" }}
{{- end }}
{{- end }}
{{- if ne (empty $v.nats.tls.certKey) (empty $v.nats.tls.keyKey) }}
{{- $errs = append $errs "nats.tls.certKey and nats.tls.keyKey go together (mutual TLS)" }}
{{- end }}
{{- if and $v.nats.tls.certKey (not $v.nats.tls.existingSecret) }}
{{- $errs = append $errs "nats.tls.certKey needs nats.tls.existingSecret (the Secret holding the client certificate and key)" }}
{{- end }}
{{- if not $v.temporal.address }}
{{- $errs = append $errs "temporal.address is required (DEIOPS_TEMPORAL_ADDRESS)" }}
{{- end }}
{{- if and $v.temporal.tls.existingSecret (not $v.temporal.tls.enabled) }}
{{- $errs = append $errs "temporal.tls.existingSecret is set but temporal.tls.enabled is false" }}
{{- end }}
{{- if ne (empty $v.temporal.tls.certKey) (empty $v.temporal.tls.keyKey) }}
{{- $errs = append $errs "temporal.tls.certKey and temporal.tls.keyKey go together (mutual TLS)" }}
{{- end }}
{{- if and $v.temporal.tls.certKey (not $v.temporal.tls.existingSecret) }}
{{- $errs = append $errs "temporal.tls.certKey needs temporal.tls.existingSecret (the Secret holding the client certificate and key)" }}
{{- end }}
{{- if and (or $v.redis.auth.password $v.redis.auth.existingSecret) (not $v.redis.url) }}
{{- $errs = append $errs "redis.auth is set but redis.url is empty" }}
{{- end }}
{{- if and (eq $v.mode "microservices") (eq (include "deiops.componentNames" . | fromJsonArray | len) 0) }}
{{- $errs = append $errs "mode=microservices needs at least one of components.awareness, components.connection, components.resolution, components.portal enabled" }}
{{- end }}
{{- if and $v.portal.issuerUrl (not $v.portal.clientSecret) (not $v.portal.existingSecret) }}
{{- $errs = append $errs "portal.issuerUrl needs portal.clientSecret or portal.existingSecret (DEIOPS_PORTAL_CLIENT_SECRET: the portal is a confidential client)" }}
{{- end }}
{{- if and (eq $v.mode "microservices") $v.components.portal.enabled (not $v.portal.apiUrl) (not $v.components.resolution.enabled) }}
{{- $errs = append $errs "components.portal needs components.resolution enabled or portal.apiUrl (the API it calls)" }}
{{- end }}
{{- if $v.ingress.enabled }}
{{- $enabled := include "deiops.componentNames" . | fromJsonArray }}
{{- range $hi, $h := $v.ingress.hosts }}
{{- range $pi, $p := $h.paths }}
{{- if eq $v.mode "microservices" }}
{{- if not (has $p.component $enabled) }}
{{- $errs = append $errs (printf "ingress.hosts[%d].paths[%d].component must name an enabled component (%s) that serves %s in microservices mode" $hi $pi (join ", " $enabled) $p.path) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if $errs }}
{{- fail (printf "\n\ndeiops: missing or invalid values:\n  - %s\n" (join "\n  - " $errs)) }}
{{- end }}
{{- end }}

{{/*
Non-secret settings (the ConfigMap; the provision hook gets a copy).
*/}}
{{- define "deiops.configData" -}}
{{- $v := .Values }}
DEIOPS_HTTP_ADDR: {{ printf ":%d" (int $v.http.containerPort) | quote }}
DEIOPS_HTTP_PUBLIC_URL: {{ $v.http.publicUrl | quote }}
DEIOPS_HTTP_MAX_BODY_BYTES: {{ $v.http.maxBodyBytes | int64 | toString | quote }}
DEIOPS_HTTP_READ_TIMEOUT: {{ $v.http.readTimeout | quote }}
DEIOPS_HTTP_WRITE_TIMEOUT: {{ $v.http.writeTimeout | quote }}
DEIOPS_HTTP_RATE_LIMIT: {{ $v.http.rateLimit | int | toString | quote }}
DEIOPS_HTTP_RATE_BURST: {{ $v.http.rateBurst | int | toString | quote }}
DEIOPS_HTTP_IDEMPOTENCY_TTL: {{ $v.http.idempotencyTtl | quote }}
DEIOPS_LOG_LEVEL: {{ $v.log.level | quote }}
DEIOPS_LOG_FORMAT: {{ $v.log.format | quote }}
DEIOPS_SHUTDOWN_TIMEOUT: {{ $v.shutdownTimeout | quote }}
DEIOPS_NATS_URL: {{ $v.nats.url | quote }}
DEIOPS_NATS_REPLICAS: {{ $v.nats.replicas | int | toString | quote }}
DEIOPS_NATS_PROVISION: {{ $v.nats.provisionOnStart | toString | quote }}
{{- if eq $v.nats.auth.method "password" }}
DEIOPS_NATS_USER: {{ $v.nats.auth.user | quote }}
{{- end }}
DEIOPS_TEMPORAL_ADDRESS: {{ $v.temporal.address | quote }}
DEIOPS_TEMPORAL_NAMESPACE: {{ $v.temporal.namespace | quote }}
DEIOPS_TEMPORAL_TASK_QUEUE_PREFIX: {{ $v.temporal.taskQueuePrefix | quote }}
DEIOPS_TEMPORAL_TLS: {{ $v.temporal.tls.enabled | toString | quote }}
{{- if $v.temporal.tls.serverName }}
DEIOPS_TEMPORAL_TLS_SERVER_NAME: {{ $v.temporal.tls.serverName | quote }}
{{- end }}
{{- if not $v.auth.existingSecret }}
DEIOPS_AUTH_ISSUER: {{ $v.auth.issuer | quote }}
DEIOPS_AUTH_JWKS_URL: {{ $v.auth.jwksUrl | quote }}
{{- end }}
DEIOPS_AUTH_AUDIENCE: {{ $v.auth.audience | quote }}
DEIOPS_AUTH_ALGORITHMS: {{ join "," $v.auth.algorithms | quote }}
DEIOPS_AUTH_ROLE_CLAIM: {{ $v.auth.roleClaim | quote }}
DEIOPS_AUTH_LEEWAY: {{ $v.auth.leeway | quote }}
DEIOPS_PRIVACY_MIN_CELL_SIZE: {{ $v.privacy.minCellSize | int | toString | quote }}
{{- with $v.http.trustedProxies }}
DEIOPS_HTTP_TRUSTED_PROXIES: {{ join "," . | quote }}
{{- end }}
{{- with $v.portal.publicUrl }}
DEIOPS_PORTAL_PUBLIC_URL: {{ . | quote }}
{{- end }}
{{- with $v.portal.issuerUrl }}
DEIOPS_PORTAL_ISSUER_URL: {{ . | quote }}
{{- end }}
DEIOPS_PORTAL_CLIENT_ID: {{ $v.portal.clientId | quote }}
DEIOPS_PORTAL_SCOPES: {{ join "," $v.portal.scopes | quote }}
DEIOPS_PORTAL_SESSION_IDLE: {{ $v.portal.sessionIdle | quote }}
DEIOPS_PORTAL_SESSION_MAX: {{ $v.portal.sessionMax | quote }}
DEIOPS_PORTAL_TIME_ZONE: {{ $v.portal.timeZone | quote }}
{{- if $v.portal.apiUrl }}
DEIOPS_PORTAL_API_URL: {{ $v.portal.apiUrl | quote }}
{{- else if and (eq $v.mode "microservices") $v.components.resolution.enabled }}
DEIOPS_PORTAL_API_URL: {{ printf "http://%s:%d" (include "deiops.componentName" (dict "root" . "component" "resolution")) (int $v.service.port) | quote }}
{{- end }}
{{- if $v.otel.endpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ $v.otel.endpoint | quote }}
OTEL_EXPORTER_OTLP_PROTOCOL: {{ $v.otel.protocol | quote }}
{{- end }}
{{- if $v.otel.resourceAttributes }}
{{- $attrs := list }}
{{- range $k, $val := $v.otel.resourceAttributes }}
{{- $attrs = append $attrs (printf "%s=%s" $k $val) }}
{{- end }}
OTEL_RESOURCE_ATTRIBUTES: {{ join "," $attrs | quote }}
{{- end }}
{{- range $k, $val := $v.extraConfig }}
{{ $k }}: {{ $val | toString | quote }}
{{- end }}
{{- end }}

{{/*
Secret values given inline (the chart's Secret; the provision hook gets a copy).
Empty when everything comes from existing Secrets.
*/}}
{{- define "deiops.secretData" -}}
{{- $v := .Values }}
{{- if not $v.secrets.existingSecret }}
{{ $v.secrets.cryptoKeyringKey }}: {{ $v.secrets.cryptoKeyring | b64enc | quote }}
{{ $v.secrets.privacyHmacSecretKey }}: {{ $v.secrets.privacyHmacSecret | b64enc | quote }}
{{- end }}
{{- if not $v.nats.auth.existingSecret }}
{{- if and (eq $v.nats.auth.method "creds") $v.nats.auth.creds }}
{{ $v.nats.auth.credsKey }}: {{ $v.nats.auth.creds | b64enc | quote }}
{{- end }}
{{- if and (eq $v.nats.auth.method "password") $v.nats.auth.password }}
{{ $v.nats.auth.passwordKey }}: {{ $v.nats.auth.password | b64enc | quote }}
{{- end }}
{{- end }}
{{- if and (not $v.redis.auth.existingSecret) $v.redis.auth.password }}
{{ $v.redis.auth.passwordKey }}: {{ $v.redis.auth.password | b64enc | quote }}
{{- end }}
{{- if and (not $v.portal.existingSecret) $v.portal.clientSecret }}
{{ $v.portal.clientSecretKey }}: {{ $v.portal.clientSecret | b64enc | quote }}
{{- end }}
{{- if and (not $v.temporal.apiKey.existingSecret) $v.temporal.apiKey.value }}
{{ $v.temporal.apiKey.key }}: {{ $v.temporal.apiKey.value | b64enc | quote }}
{{- end }}
{{- end }}

{{/*
Container environment beyond the ConfigMap: secrets and file paths.
Call with (dict "root" $ "secretName" <name of the chart's Secret to use>).
*/}}
{{- define "deiops.env" -}}
{{- $v := .root.Values }}
{{- $own := .secretName }}
- name: DEIOPS_CRYPTO_KEYRING
  valueFrom:
    secretKeyRef:
      name: {{ default $own $v.secrets.existingSecret }}
      key: {{ $v.secrets.cryptoKeyringKey }}
- name: DEIOPS_PRIVACY_HMAC_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ default $own $v.secrets.existingSecret }}
      key: {{ $v.secrets.privacyHmacSecretKey }}
{{- if and $v.portal.issuerUrl (or $v.portal.existingSecret $v.portal.clientSecret) }}
- name: DEIOPS_PORTAL_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ default $own $v.portal.existingSecret }}
      key: {{ $v.portal.clientSecretKey }}
{{- end }}
{{- if $v.auth.existingSecret }}
- name: DEIOPS_AUTH_ISSUER
  valueFrom:
    secretKeyRef:
      name: {{ $v.auth.existingSecret }}
      key: {{ $v.auth.issuerKey }}
- name: DEIOPS_AUTH_JWKS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.auth.existingSecret }}
      key: {{ $v.auth.jwksUrlKey }}
{{- end }}
{{- if eq $v.nats.auth.method "creds" }}
- name: DEIOPS_NATS_CREDS_FILE
  value: /etc/deiops/nats-creds/{{ $v.nats.auth.credsKey }}
{{- else if eq $v.nats.auth.method "password" }}
- name: DEIOPS_NATS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ default $own $v.nats.auth.existingSecret }}
      key: {{ $v.nats.auth.passwordKey }}
{{- end }}
{{- if $v.nats.tls.existingSecret }}
{{- if $v.nats.tls.caKey }}
- name: DEIOPS_NATS_TLS_CA
  value: /etc/deiops/nats-tls/{{ $v.nats.tls.caKey }}
{{- end }}
{{- if $v.nats.tls.certKey }}
- name: DEIOPS_NATS_TLS_CERT
  value: /etc/deiops/nats-tls/{{ $v.nats.tls.certKey }}
- name: DEIOPS_NATS_TLS_KEY
  value: /etc/deiops/nats-tls/{{ $v.nats.tls.keyKey }}
{{- end }}
{{- end }}
{{- if and $v.temporal.tls.enabled $v.temporal.tls.existingSecret }}
{{- if $v.temporal.tls.caKey }}
- name: DEIOPS_TEMPORAL_TLS_CA
  value: /etc/deiops/temporal-tls/{{ $v.temporal.tls.caKey }}
{{- end }}
{{- if $v.temporal.tls.certKey }}
- name: DEIOPS_TEMPORAL_TLS_CERT
  value: /etc/deiops/temporal-tls/{{ $v.temporal.tls.certKey }}
- name: DEIOPS_TEMPORAL_TLS_KEY
  value: /etc/deiops/temporal-tls/{{ $v.temporal.tls.keyKey }}
{{- end }}
{{- end }}
{{- if or $v.temporal.apiKey.value $v.temporal.apiKey.existingSecret }}
- name: DEIOPS_TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ default $own $v.temporal.apiKey.existingSecret }}
      key: {{ $v.temporal.apiKey.key }}
{{- end }}
{{- if $v.redis.url }}
{{- if or $v.redis.auth.password $v.redis.auth.existingSecret }}
{{- /* Kubernetes expands $(REDIS_PASSWORD) from the variable defined just before. */}}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ default $own $v.redis.auth.existingSecret }}
      key: {{ $v.redis.auth.passwordKey }}
- name: DEIOPS_REDIS_URL
  value: {{ regexReplaceAll "^(rediss?)://" $v.redis.url (printf "${1}://%s:$$(REDIS_PASSWORD)@" $v.redis.auth.username) | quote }}
{{- else }}
- name: DEIOPS_REDIS_URL
  value: {{ $v.redis.url | quote }}
{{- end }}
{{- end }}
{{- if $v.trustedCA.existingSecret }}
- name: SSL_CERT_DIR
  value: /etc/deiops/trusted-ca:/etc/ssl/certs
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volumes of a deiops pod; call with (dict "root" $ "secretName" <name>). */}}
{{- define "deiops.volumes" -}}
{{- $v := .root.Values }}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if eq $v.nats.auth.method "creds" }}
- name: nats-creds
  secret:
    secretName: {{ default .secretName $v.nats.auth.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ $v.nats.auth.credsKey }}
        path: {{ $v.nats.auth.credsKey }}
{{- end }}
{{- if $v.nats.tls.existingSecret }}
- name: nats-tls
  secret:
    secretName: {{ $v.nats.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- if and $v.temporal.tls.enabled $v.temporal.tls.existingSecret }}
- name: temporal-tls
  secret:
    secretName: {{ $v.temporal.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- if $v.trustedCA.existingSecret }}
- name: trusted-ca
  secret:
    secretName: {{ $v.trustedCA.existingSecret }}
    defaultMode: 0444
{{- end }}
{{- end }}

{{- define "deiops.volumeMounts" -}}
{{- $v := .Values }}
- name: tmp
  mountPath: /tmp
{{- if eq $v.nats.auth.method "creds" }}
- name: nats-creds
  mountPath: /etc/deiops/nats-creds
  readOnly: true
{{- end }}
{{- if $v.nats.tls.existingSecret }}
- name: nats-tls
  mountPath: /etc/deiops/nats-tls
  readOnly: true
{{- end }}
{{- if and $v.temporal.tls.enabled $v.temporal.tls.existingSecret }}
- name: temporal-tls
  mountPath: /etc/deiops/temporal-tls
  readOnly: true
{{- end }}
{{- if $v.trustedCA.existingSecret }}
- name: trusted-ca
  mountPath: /etc/deiops/trusted-ca
  readOnly: true
{{- end }}
{{- end }}

{{/* Pod- and container-level hardening; not configurable beyond the user and group ids. */}}
{{- define "deiops.podSecurityContext" -}}
runAsNonRoot: true
{{- with .Values.podSecurityContext.runAsUser }}
runAsUser: {{ . }}
{{- end }}
{{- with .Values.podSecurityContext.runAsGroup }}
runAsGroup: {{ . }}
{{- end }}
{{- with .Values.podSecurityContext.fsGroup }}
fsGroup: {{ . }}
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "deiops.containerSecurityContext" -}}
runAsNonRoot: true
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Rolls pods when settings or inline secrets change. */}}
{{- define "deiops.checksums" -}}
checksum/config: {{ include "deiops.configData" . | sha256sum }}
checksum/secret: {{ include "deiops.secretData" . | sha256sum }}
{{- end }}
