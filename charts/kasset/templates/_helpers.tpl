{{/* The release's full name: the prefix of every object. */}}
{{- define "kasset.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kasset.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "kasset.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "kasset.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "kasset.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kasset.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kasset.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The Lease the replicas elect their leader on (created by the chart, so `helm uninstall` removes it). */}}
{{- define "kasset.leaseName" -}}
{{- printf "%s-leader" (include "kasset.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Where container Sensors' sources POST events: the value, or the Service's cluster DNS name. */}}
{{- define "kasset.sensorBaseURL" -}}
{{- default (printf "http://%s.%s.svc:%v" (include "kasset.fullname" .) .Release.Namespace .Values.webhooks.port) .Values.sensors.baseURL -}}
{{- end -}}

{{/* What the operator may do with the resources it serves (namespace-scoped rules). */}}
{{- define "kasset.operatorRules" -}}
- apiGroups: [kasset.dev]
  resources: [assets, jobs, runs, backfills, schedules, sensors, partitionslices]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [kasset.dev]
  resources: [assets/status, jobs/status, runs/status, backfills/status, schedules/status, sensors/status, partitionslices/status]
  verbs: [get, update, patch]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, create, delete]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list]
# container Sensors' sources: one Deployment per Sensor, watched by label
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, update, delete]
# a webhook Sensor's token: read by name (spec.webhook.tokenSecretRef), never listed or watched
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}
