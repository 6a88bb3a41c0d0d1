{{/*
Names. The fullname is the release name when it already contains "martello"
(release "martello" gives objects named "martello", as in deploy/martello.yaml),
else "<release>-martello".
*/}}
{{- define "martello.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "martello.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "martello.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "martello.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "martello.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "martello.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "martello.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels that select the controller pods (Service, PDB, spread constraints). */}}
{{- define "martello.selectorLabels" -}}
app.kubernetes.io/name: {{ include "martello.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "martello.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* How many replicas run at least: decides whether a PDB makes sense. */}}
{{- define "martello.minReplicas" -}}
{{- if .Values.autoscaling.enabled -}}
{{- .Values.autoscaling.minReplicas -}}
{{- else -}}
{{- .Values.replicaCount -}}
{{- end -}}
{{- end -}}

{{/* The controller's command line, one quoted item per line. */}}
{{- define "martello.args" -}}
- controller
- {{ printf "--listen-http=0.0.0.0:%v" .Values.containerPorts.http | quote }}
- {{ printf "--listen-https=0.0.0.0:%v" .Values.containerPorts.https | quote }}
- {{ printf "--listen-admin=0.0.0.0:%v" .Values.containerPorts.admin | quote }}
- {{ printf "--ingress-class=%s" .Values.ingressClass.name | quote }}
- {{ printf "--controller-class=%s" .Values.ingressClass.controller | quote }}
- {{ printf "--election-id=%s" (default (printf "%s-leader" (include "martello.fullname" .)) .Values.electionID) | quote }}
{{- if .Values.publishStatusAddress }}
- {{ printf "--publish-status-address=%s" .Values.publishStatusAddress | quote }}
{{- else if and .Values.publishService.enabled (or .Values.service.enabled .Values.publishService.pathOverride) }}
- {{ printf "--publish-service=%s" (default (printf "%s/%s" .Release.Namespace (include "martello.fullname" .)) .Values.publishService.pathOverride) | quote }}
{{- end }}
{{- with .Values.watchNamespaces }}
- {{ printf "--watch-namespace=%s" (join "," .) | quote }}
{{- end }}
{{- if .Values.watchIngressWithoutClass }}
- --watch-ingress-without-class
{{- end }}
{{- with .Values.defaultSSLCertificate }}
- {{ printf "--default-ssl-certificate=%s" . | quote }}
{{- end }}
{{- with .Values.workers }}
- {{ printf "--workers=%v" . | quote }}
{{- end }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end -}}

{{/*
Rules for the namespaced objects Martello reads and writes. Used by the
ClusterRole (all namespaces) or by one Role per watched namespace.
*/}}
{{- define "martello.namespacedRules" -}}
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses/status"]
  verbs: ["update", "patch"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["get", "list", "watch"]
# Only kubernetes.io/tls Secrets are used, but RBAC cannot narrow by type.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["events.k8s.io", ""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}

{{/* Cluster-scoped reads. */}}
{{- define "martello.clusterRules" -}}
- apiGroups: ["networking.k8s.io"]
  resources: ["ingressclasses"]
  verbs: ["get", "list", "watch"]
{{- end -}}
