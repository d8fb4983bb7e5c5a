package gen

// The action catalogue: what happens, how often, to what, reported by whom,
// and how it fails. Weights are relative frequencies per actor class: "user"
// and "admin" per person, "svc" per service account before the role
// affinity below. Reads, logins and sessions dominate; changes to
// permissions, keys and infrastructure are rare, and people who are not
// admins almost never make them.

// Categories, in the order Categories lists them.
const (
	catAuthn = iota
	catAuthz
	catAccount
	catConfig
	catDeploy
	catData
	catAPI
	catSystem
	catSecret
	catBilling
	numCats
)

var categoryNames = [numCats]string{"authentication", "authorization", "account", "configuration", "deployment", "data", "api", "system", "secret", "billing"}

// Service account roles.
const (
	roleETL = iota
	roleMonitoring
	roleAPI
	roleK8s
	roleCI
	roleDeployer
	roleSecrets
	roleBackup
	roleBilling
	roleScheduler
	numRoles
)

// roleAffinity scales a service action's weight by the category it is in,
// so that svc-deployer deploys and svc-vault-agent reads secrets.
var roleAffinity = [numRoles][numCats]float64{
	roleETL:        {catData: 10, catAPI: 1, catSecret: 1, catSystem: 0.3, catAuthn: 0.3},
	roleMonitoring: {catSystem: 4, catAPI: 3, catData: 1, catDeploy: 0.2, catAuthn: 0.3},
	roleAPI:        {catAPI: 6, catData: 3, catAuthn: 1, catSecret: 0.5, catBilling: 0.5, catAuthz: 0.3},
	roleK8s:        {catDeploy: 5, catSystem: 4, catConfig: 0.5, catSecret: 0.5},
	roleCI:         {catDeploy: 8, catSecret: 1, catAPI: 0.5, catAuthn: 0.3},
	roleDeployer:   {catDeploy: 8, catConfig: 1, catSecret: 0.5, catAuthz: 0.2},
	roleSecrets:    {catSecret: 8, catSystem: 0.5, catAuthz: 0.5, catConfig: 0.5},
	roleBackup:     {catData: 6, catSystem: 1},
	roleBilling:    {catBilling: 5, catData: 3, catAPI: 1, catAccount: 0.5},
	roleScheduler:  {catSystem: 6, catData: 2, catAPI: 1, catAccount: 0.3, catAuthz: 0.3},
}

type actionSpec struct {
	name             string
	cat              uint8
	res              uint8 // resource kind, resNone for none
	src              uint8 // reporter index
	msg              uint8 // message class
	user, admin, svc float64
	fail, deny       float64
	unknown          float64 // share of unknown outcomes
	attrs            []uint8
	signIn           bool     // a sign-in: the actor's name and agent are always there
	okText           []string // success messages; the class's when empty
	failText         []string // failure messages; the class's when empty
}

// defaultUnknown: a few events in a thousand never learn how they ended.
const defaultUnknown = 0.003

func act(name string, cat, res, src, msg uint8, user, admin, svc, fail, deny float64, attrs ...uint8) actionSpec {
	return actionSpec{name: name, cat: cat, res: res, src: src, msg: msg, user: user, admin: admin, svc: svc, fail: fail, deny: deny, unknown: defaultUnknown, attrs: attrs, signIn: signIns[name]}
}

// signIns are the actions where a person signs in, and which carry the
// person's name and user agent every time.
var signIns = map[string]bool{
	"user.login": true, "user.login.mfa": true, "user.login.sso": true, "auth.saml.assert": true,
	"auth.oauth.authorize": true, "auth.webauthn.assert": true, "auth.vpn.connect": true, "auth.ssh.login": true,
}

// says sets the action's own success messages.
func (a actionSpec) says(texts ...string) actionSpec { a.okText = texts; return a }

// failsWith sets the action's own failure messages.
func (a actionSpec) failsWith(texts ...string) actionSpec { a.failText = texts; return a }

// async marks actions that report before they know how they end (a
// started deploy, a triggered pipeline): more of them are unknown.
func async(a actionSpec) actionSpec { a.unknown = 0.02; return a }

// actionTable returns the catalogue. It is a function, not a package
// variable, so that nothing global holds mutable state.
func actionTable() []actionSpec {
	return []actionSpec{
		// authentication
		act("user.login", catAuthn, resNone, srcSSO, msgLogin, 40, 35, 0, .045, .004, atAuthMethod, atGeo),
		act("user.logout", catAuthn, resNone, srcSSO, msgLogout, 15, 13, 0, .002, 0, atSessionAge),
		act("user.login.mfa", catAuthn, resNone, srcAuth, msgMFA, 15, 14, 0, .04, .002, atMFA).says("MFA challenge passed", "TOTP code accepted", "push notification approved", "security key verified"),
		act("user.login.sso", catAuthn, resNone, srcSSO, msgLogin, 12, 10, 0, .02, .003, atIdP).says("login succeeded via SSO", "SSO session established"),
		act("user.password.reset", catAuthn, resNone, srcAuth, msgPassword, 2, 1, 0, .08, .01, atDelivery).says("password reset link sent", "password reset completed").failsWith("reset token expired", "unknown user"),
		act("user.password.change", catAuthn, resNone, srcAuth, msgPassword, 1.5, 1, 0, .06, .005, atTrigger).says("password changed").failsWith("password does not meet policy", "password was used recently"),
		act("user.mfa.enroll", catAuthn, resNone, srcAuth, msgMFA, .6, .5, 0, .03, .005, atMFA).says("MFA factor enrolled"),
		act("user.mfa.remove", catAuthn, resNone, srcAuth, msgMFA, .2, .3, 0, .02, .02, atMFA).says("MFA factor removed"),
		act("user.session.refresh", catAuthn, resNone, srcAuth, msgSession, 15, 13, 0, .02, .001, atSessionAge).says("session refreshed"),
		act("user.session.expire", catAuthn, resNone, srcAuth, msgSession, 6, 5, 0, 0, 0, atSessionAge).says("session expired after inactivity"),
		act("user.session.revoke", catAuthn, resNone, srcAuth, msgSession, .8, 1.5, 0, .01, .01, atTrigger).says("session revoked"),
		act("user.lockout", catAuthn, resNone, srcAuth, msgLockout, .5, .2, 0, 0, 0, atAttempt),
		act("user.unlock", catAuthn, resUser, srcAuth, msgAccount, .2, .8, 0, .01, .02, atTrigger).says("account {res} unlocked"),
		act("auth.token.refresh", catAuthn, resNone, srcAuth, msgSession, 8, 6, 12, .02, .002, atScope, atTTL).says("token refreshed", "access token issued"),
		act("auth.oauth.authorize", catAuthn, resNone, srcSSO, msgSession, 6, 4, 0, .02, .01, atClient, atScope).says("authorization code issued"),
		act("auth.oauth.consent", catAuthn, resNone, srcSSO, msgSession, 1, .5, 0, .01, .02, atClient, atScope).says("consent granted"),
		act("auth.webauthn.register", catAuthn, resNone, srcAuth, msgMFA, .3, .4, 0, .05, .002, atAuthenticator).says("security key registered"),
		act("auth.webauthn.assert", catAuthn, resNone, srcAuth, msgMFA, 5, 6, 0, .02, .002, atAuthenticator).says("security key verified"),
		act("auth.saml.assert", catAuthn, resNone, srcSSO, msgLogin, 5, 4, 0, .02, .005, atIdP).says("SAML assertion accepted"),
		act("auth.ssh.login", catAuthn, resHost, srcNode, msgLogin, 3, 12, 2, .04, .03, atKeyType).says("accepted publickey", "session opened on {res}"),
		act("auth.ssh.key.add", catAuthn, resHost, srcNode, msgAccount, .3, .5, .05, .01, .01, atKeyType).says("SSH key added"),
		act("auth.ssh.key.remove", catAuthn, resHost, srcNode, msgAccount, .1, .3, .02, .01, .01, atKeyType).says("SSH key removed"),
		act("auth.vpn.connect", catAuthn, resNone, srcAuth, msgLogin, 6, 5, 0, .03, .005, atGeo, atGateway).says("VPN tunnel established"),
		act("auth.vpn.disconnect", catAuthn, resNone, srcAuth, msgLogout, 5, 4, 0, .002, 0, atSessionAge, atBytes).says("VPN tunnel closed"),
		act("auth.kerberos.ticket", catAuthn, resNone, srcAuth, msgSession, 4, 3, 2, .01, .005, atRealm, atTTL).says("ticket granted"),
		act("user.impersonate.start", catAuthn, resUser, srcConsole, msgAccount, 0, .3, 0, .01, .05, atTicket).says("impersonation of {res} started"),
		act("user.impersonate.stop", catAuthn, resUser, srcConsole, msgAccount, 0, .3, 0, 0, 0, atTicket).says("impersonation of {res} ended"),
		act("user.recovery.code.use", catAuthn, resNone, srcAuth, msgMFA, .1, .05, 0, .1, .01, atCodesLeft).says("recovery code accepted"),
		act("user.email.verify", catAuthn, resNone, srcAccounts, msgAccount, .4, .1, 0, .05, 0, atDelivery).says("email address verified"),

		// authorization
		act("iam.policy.create", catAuthz, resPolicy, srcIAM, msgIAM, 0, .5, .05, .02, .03, atStatements, atEnv).says("policy {res} created"),
		act("iam.policy.update", catAuthz, resPolicy, srcIAM, msgIAM, .05, 1.2, .2, .03, .04, atStatements, atChangeID).says("policy {res} updated"),
		act("iam.policy.delete", catAuthz, resPolicy, srcIAM, msgIAM, 0, .2, .02, .02, .05, atChangeID).says("policy {res} deleted"),
		act("iam.policy.attach", catAuthz, resPolicy, srcIAM, msgIAM, 0, .8, .1, .02, .03, atGrantee).says("policy {res} attached"),
		act("iam.policy.detach", catAuthz, resPolicy, srcIAM, msgIAM, 0, .5, .05, .02, .03, atGrantee).says("policy {res} detached"),
		act("iam.role.create", catAuthz, resRole, srcIAM, msgIAM, 0, .2, .02, .02, .04, atEnv).says("role {res} created"),
		act("iam.role.delete", catAuthz, resRole, srcIAM, msgIAM, 0, .05, .01, .02, .05, atChangeID).says("role {res} deleted"),
		act("iam.role.grant", catAuthz, resRole, srcIAM, msgIAM, .02, 1.5, .1, .02, .05, atGrantee, atExpiry).says("role {res} granted"),
		act("iam.role.revoke", catAuthz, resRole, srcIAM, msgIAM, .01, 1, .1, .02, .04, atGrantee).says("role {res} revoked"),
		act("iam.role.assume", catAuthz, resRole, srcIAM, msgIAM, 4, 8, 10, .01, .03, atTTL, atEnv).says("assumed role {res}"),
		act("iam.group.create", catAuthz, resGroup, srcIAM, msgIAM, 0, .2, 0, .02, .03, atEnv).says("group {res} created"),
		act("iam.group.delete", catAuthz, resGroup, srcIAM, msgIAM, 0, .05, 0, .02, .05, atChangeID).says("group {res} deleted"),
		act("iam.group.member.add", catAuthz, resGroup, srcIAM, msgIAM, .02, 1.2, .2, .02, .04, atGrantee).says("member added to {res}"),
		act("iam.group.member.remove", catAuthz, resGroup, srcIAM, msgIAM, .01, .8, .1, .02, .04, atGrantee).says("member removed from {res}"),
		act("iam.permission.check", catAuthz, resRole, srcIAM, msgIAM, 8, 6, 20, .002, .06, atPermission).says("permission granted", "access allowed by {res}"),
		act("iam.access.request", catAuthz, resRole, srcIAM, msgIAM, 1, .3, 0, .01, .02, atTicket, atTTL).says("access request submitted"),
		act("iam.access.approve", catAuthz, resRole, srcIAM, msgIAM, .2, 1, 0, .01, .03, atGrantee, atTicket).says("access request approved"),
		act("iam.access.deny", catAuthz, resRole, srcIAM, msgIAM, .05, .3, 0, 0, .01, atGrantee, atTicket).says("access request denied"),
		act("iam.access.expire", catAuthz, resRole, srcIAM, msgIAM, 0, 0, 1, 0, 0, atGrantee).says("temporary access expired"),
		act("iam.serviceaccount.key.create", catAuthz, resKey, srcIAM, msgSecret, 0, .2, .3, .02, .04, atAlgo).says("service account key created"),
		act("iam.serviceaccount.key.delete", catAuthz, resKey, srcIAM, msgSecret, 0, .1, .2, .01, .03, atAlgo).says("service account key deleted"),
		act("iam.serviceaccount.key.rotate", catAuthz, resKey, srcIAM, msgSecret, 0, .1, .6, .03, .01, atAlgo, atKeyVersion).says("service account key rotated"),
		act("iam.boundary.update", catAuthz, resPolicy, srcIAM, msgIAM, 0, .1, 0, .02, .05, atChangeID).says("permission boundary updated"),
		act("iam.breakglass.activate", catAuthz, resRole, srcIAM, msgIAM, 0, .02, 0, 0, .1, atTicket, atReason).says("break-glass access activated"),

		// account
		act("account.create", catAccount, resUser, srcAccounts, msgAccount, 0, .6, .4, .03, .02, atTeam).says("account {res} created"),
		act("account.delete", catAccount, resUser, srcAccounts, msgAccount, 0, .2, .05, .02, .04, atTicket).says("account {res} deleted"),
		act("account.disable", catAccount, resUser, srcAccounts, msgAccount, 0, .3, .2, .02, .03, atTrigger).says("account {res} disabled"),
		act("account.enable", catAccount, resUser, srcAccounts, msgAccount, 0, .2, .05, .02, .03, atTrigger).says("account {res} enabled"),
		act("account.lock", catAccount, resUser, srcAccounts, msgAccount, 0, .1, .3, 0, .02, atAttempt).says("account {res} locked"),
		act("account.update", catAccount, resUser, srcAccounts, msgAccount, 1, .8, .3, .02, .01, atChanged).says("account {res} updated"),
		act("account.email.change", catAccount, resUser, srcAccounts, msgAccount, .3, .1, 0, .05, .01, atDelivery).says("email address changed"),
		act("account.profile.update", catAccount, resUser, srcConsole, msgAccount, 3, 1, 0, .01, 0, atChanged).says("profile updated"),
		act("account.invite.send", catAccount, resUser, srcAccounts, msgAccount, .2, .5, 0, .03, .02, atTeam, atDelivery).says("invitation sent"),
		act("account.invite.accept", catAccount, resUser, srcAccounts, msgAccount, .3, 0, 0, .06, 0, atTeam).says("invitation accepted"),
		act("account.mfa.enable", catAccount, resUser, srcAccounts, msgMFA, .3, .2, 0, .03, 0, atMFA).says("MFA enabled for {res}"),
		act("account.mfa.disable", catAccount, resUser, srcAccounts, msgMFA, .05, .1, 0, .02, .03, atMFA, atTicket).says("MFA disabled for {res}"),
		act("account.password.change", catAccount, resUser, srcAccounts, msgPassword, 1, .5, 0, .06, .01, atTrigger).says("password changed by administrator"),
		act("account.suspend", catAccount, resCustomer, srcAccounts, msgAccount, 0, .05, .02, .01, .03, atReason).says("customer {res} suspended"),
		act("account.restore", catAccount, resCustomer, srcAccounts, msgAccount, 0, .03, .01, .01, .03, atTicket).says("customer {res} restored"),
		act("account.owner.transfer", catAccount, resCustomer, srcAccounts, msgAccount, 0, .02, 0, .05, .1, atGrantee).says("ownership transferred"),
		act("account.plan.change", catAccount, resCustomer, srcBilling, msgAccount, .2, .1, .1, .03, .02, atPlan).says("plan changed"),

		// configuration
		act("config.change", catConfig, resConfig, srcConfig, msgConfig, .8, 3, .5, .03, .03, atEnv, atChangeID).says("configuration updated", "value changed from default", "change applied to {res}"),
		act("config.read", catConfig, resConfig, srcConfig, msgConfig, 6, 5, 20, .01, .01, atEnv).says("configuration read"),
		act("config.rollback", catConfig, resConfig, srcConfig, msgConfig, .05, .3, .1, .05, .02, atEnv, atVersion).says("configuration rolled back"),
		act("config.export", catConfig, resConfig, srcConfig, msgConfig, .1, .3, .2, .02, .02, atBytes).says("configuration exported"),
		act("config.import", catConfig, resConfig, srcConfig, msgConfig, 0, .1, .1, .06, .02, atCount).says("configuration imported"),
		act("feature_flag.toggle", catConfig, resFlag, srcConfig, msgConfig, .8, 2, .3, .01, .03, atEnabled, atEnv).says("flag {res} toggled"),
		act("feature_flag.create", catConfig, resFlag, srcConfig, msgConfig, .2, .3, 0, .02, .02, atEnv).says("flag {res} created"),
		act("feature_flag.delete", catConfig, resFlag, srcConfig, msgConfig, .05, .2, 0, .02, .03, atEnv).says("flag {res} deleted"),
		act("feature_flag.rollout.update", catConfig, resFlag, srcConfig, msgConfig, .3, .8, .2, .02, .02, atPercent, atEnv).says("rollout of {res} updated"),
		act("dns.record.create", catConfig, resDNS, srcConfig, msgConfig, .05, .2, .1, .03, .03, atRecordType, atTTL).says("DNS record {res} created"),
		act("dns.record.update", catConfig, resDNS, srcConfig, msgConfig, .05, .3, .3, .03, .03, atRecordType, atTTL).says("DNS record {res} updated"),
		act("dns.record.delete", catConfig, resDNS, srcConfig, msgConfig, .01, .1, .05, .02, .04, atRecordType).says("DNS record {res} deleted"),
		act("firewall.rule.create", catConfig, resFirewall, srcConfig, msgConfig, 0, .2, .05, .03, .05, atCIDR, atPort).says("firewall rule {res} created"),
		act("firewall.rule.update", catConfig, resFirewall, srcConfig, msgConfig, 0, .3, .1, .03, .05, atCIDR, atPort).says("firewall rule {res} updated"),
		act("firewall.rule.delete", catConfig, resFirewall, srcConfig, msgConfig, 0, .1, .02, .02, .05, atCIDR).says("firewall rule {res} deleted"),
		act("lb.backend.add", catConfig, resService, srcConfig, msgConfig, 0, .1, 1, .02, .01, atRegion, atPort).says("backend added to {res}"),
		act("lb.backend.remove", catConfig, resService, srcConfig, msgConfig, 0, .1, 1, .02, .01, atRegion, atPort).says("backend removed from {res}"),
		act("cert.issue", catConfig, resCert, srcConfig, msgConfig, 0, .1, .5, .04, .02, atValidDays).says("certificate {res} issued").failsWith("ACME challenge failed"),
		act("cert.renew", catConfig, resCert, srcConfig, msgConfig, 0, .05, 1, .03, .01, atValidDays).says("certificate {res} renewed").failsWith("certificate expired", "ACME challenge failed"),
		act("cert.revoke", catConfig, resCert, srcConfig, msgConfig, 0, .03, .02, .02, .05, atReason).says("certificate {res} revoked"),
		act("network.route.update", catConfig, resNone, srcConfig, msgConfig, 0, .1, .1, .03, .05, atCIDR, atRegion).says("route table updated"),
		act("alert.rule.update", catConfig, resAlert, srcConfig, msgConfig, .3, .6, .1, .02, .02, atThreshold).says("alert rule {res} updated"),
		act("alert.silence.create", catConfig, resAlert, srcConfig, msgConfig, .8, .6, 0, .01, .01, atTTL).says("alert {res} silenced"),
		act("retention.policy.update", catConfig, resBucket, srcConfig, msgConfig, 0, .1, 0, .02, .05, atRetention).says("retention policy updated for {res}"),
		act("sso.provider.update", catConfig, resNone, srcSSO, msgConfig, 0, .05, 0, .05, .06, atIdP).says("identity provider settings updated"),
		act("webhook.create", catConfig, resWebhook, srcConfig, msgConfig, .1, .2, 0, .04, .02, atCount).says("webhook {res} created"),
		act("webhook.delete", catConfig, resWebhook, srcConfig, msgConfig, .05, .1, 0, .02, .02, atCount).says("webhook {res} deleted"),

		// deployment
		async(act("deploy.start", catDeploy, resService, srcDeployer, msgDeploy, .8, 1.5, 6, .01, .02, atVersion, atEnv, atCommit)).says("deployment of {res} started"),
		act("deploy.finish", catDeploy, resService, srcDeployer, msgDeploy, .4, .8, 5.5, .05, 0, atVersion, atEnv, atDuration).says("deployment of {res} finished").failsWith("health check failed", "rollout timed out", "readiness probe failed on {res}", "out of memory"),
		act("deploy.rollback", catDeploy, resService, srcDeployer, msgDeploy, .1, .3, .4, .06, .02, atVersion, atEnv).says("rolled back {res} to previous version"),
		act("deploy.approve", catDeploy, resService, srcDeployer, msgDeploy, .5, 1, 0, .01, .05, atVersion, atChangeID).says("deployment approved"),
		act("deploy.cancel", catDeploy, resService, srcDeployer, msgDeploy, .1, .2, .1, .02, .02, atVersion).says("deployment cancelled"),
		act("deploy.promote", catDeploy, resService, srcDeployer, msgDeploy, .2, .4, 1, .03, .03, atVersion, atEnv).says("promoted {res} to production"),
		async(act("build.start", catDeploy, resRepo, srcCI, msgBuild, .5, .3, 12, .01, 0, atCommit, atBranch)).says("build started for {res}"),
		act("build.finish", catDeploy, resRepo, srcCI, msgBuild, .2, .1, 11, .08, 0, atCommit, atDuration).says("build succeeded").failsWith("tests failed", "build timed out", "dependency resolution failed", "lint failed in {res}"),
		act("build.artifact.publish", catDeploy, resRepo, srcCI, msgBuild, 0, 0, 6, .02, .005, atVersion, atBytes).says("artifact published"),
		act("image.push", catDeploy, resImage, srcCI, msgBuild, .1, .05, 7, .02, .005, atVersion, atBytes).says("image pushed"),
		act("image.pull", catDeploy, resImage, srcK8s, msgBuild, 0, 0, 20, .03, .005, atVersion, atRegion).says("image pulled").failsWith("image pull failed", "manifest unknown"),
		act("image.scan", catDeploy, resImage, srcCI, msgBuild, 0, 0, 4, .03, 0, atVulns, atVersion).says("image scan completed"),
		act("image.sign", catDeploy, resImage, srcCI, msgBuild, 0, 0, 3, .01, .002, atVersion, atAlgo).says("image signed"),
		act("release.create", catDeploy, resRepo, srcCI, msgBuild, .3, .3, 1, .02, .02, atVersion).says("release created"),
		act("release.tag", catDeploy, resRepo, srcCI, msgBuild, .3, .2, 1, .01, .01, atVersion, atCommit).says("release tagged"),
		async(act("pipeline.trigger", catDeploy, resPipeline, srcCI, msgBuild, 1.2, .6, 4, .01, .01, atBranch, atCommit)).says("pipeline started for {res}"),
		act("pipeline.cancel", catDeploy, resPipeline, srcCI, msgBuild, .3, .2, .2, .02, .01, atBranch).says("pipeline cancelled"),
		act("k8s.deployment.scale", catDeploy, resNamespace, srcK8s, msgDeploy, .1, .4, 6, .02, .02, atReplicas, atRegion).says("scaled {res} to {n} replicas"),
		act("k8s.deployment.restart", catDeploy, resNamespace, srcK8s, msgDeploy, .3, .6, 1, .03, .02, atRegion).says("rollout restart of {res}"),
		act("k8s.pod.exec", catDeploy, resNamespace, srcK8s, msgDeploy, .6, 1.5, 0, .03, .05, atContainer).says("exec into pod in {res}"),
		act("k8s.configmap.update", catDeploy, resNamespace, srcK8s, msgConfig, .05, .3, 1, .02, .02, atChanged).says("configmap updated in {res}"),
		act("k8s.secret.update", catDeploy, resNamespace, srcK8s, msgSecret, .02, .2, 1, .02, .03, atChanged).says("secret updated in {res}"),
		act("k8s.namespace.create", catDeploy, resNamespace, srcK8s, msgDeploy, 0, .05, .1, .01, .03, atRegion).says("namespace {res} created"),
		act("k8s.namespace.delete", catDeploy, resNamespace, srcK8s, msgDeploy, 0, .02, .02, .02, .06, atRegion).says("namespace {res} deleted"),
		act("helm.release.upgrade", catDeploy, resNamespace, srcDeployer, msgDeploy, .05, .2, 2, .05, .01, atVersion, atDuration).says("helm release upgraded in {res}"),
		act("terraform.plan", catDeploy, resRepo, srcCI, msgBuild, .5, 1, 2, .04, .01, atCount, atDuration).says("plan: {n} to change"),
		act("terraform.apply", catDeploy, resRepo, srcCI, msgDeploy, .05, .4, 1, .06, .03, atCount, atDuration).says("apply complete: {n} changed"),
		act("canary.start", catDeploy, resService, srcDeployer, msgDeploy, 0, .05, 1, .01, 0, atPercent, atVersion).says("canary started for {res}"),
		act("canary.abort", catDeploy, resService, srcDeployer, msgDeploy, 0, .02, .1, 0, 0, atVersion).says("canary aborted for {res}"),

		// data
		act("db.read", catData, resDatabase, srcDBProxy, msgDB, 30, 20, 60, .02, .006, atTable, atRows, atDuration).says("read {n} rows", "query completed"),
		act("db.write", catData, resDatabase, srcDBProxy, msgDB, 8, 6, 25, .02, .004, atTable, atRows, atDuration).says("wrote {n} rows", "transaction committed"),
		act("db.delete", catData, resDatabase, srcDBProxy, msgDB, .5, .5, 3, .01, .01, atTable, atRows).says("deleted {n} rows"),
		act("db.schema.change", catData, resDatabase, srcDBProxy, msgDB, .02, .2, .5, .05, .04, atTable, atChangeID).says("schema migration applied to {res}"),
		act("db.query.slow", catData, resDatabase, srcDBProxy, msgDB, .5, .3, 3, 0, 0, atTable, atDuration).says("slow query on {res}"),
		async(act("db.backup.start", catData, resDatabase, srcStorage, msgBackup, 0, .05, 1.5, .01, 0, atRegion)).says("backup of {res} started"),
		act("db.backup.finish", catData, resDatabase, srcStorage, msgBackup, 0, .05, 1.5, .03, 0, atBytes, atDuration).says("backup of {res} completed"),
		act("db.restore", catData, resDatabase, srcStorage, msgBackup, 0, .05, .05, .08, .02, atBytes, atChangeID).says("restore of {res} completed"),
		act("db.export", catData, resDatabase, srcDBProxy, msgDB, .3, .2, .5, .03, .03, atTable, atRows, atBytes).says("export of {res} completed"),
		act("db.user.create", catData, resDatabase, srcDBProxy, msgIAM, 0, .1, .05, .02, .03, atGrantee).says("database user created"),
		act("db.grant", catData, resDatabase, srcDBProxy, msgIAM, 0, .2, .05, .02, .04, atGrantee, atPermission).says("grant applied on {res}"),
		act("db.connect", catData, resDatabase, srcDBProxy, msgDB, 6, 6, 12, .03, .01, atTLS).says("connected to {res}").failsWith("connection refused", "too many connections", "certificate verify failed"),
		act("db.disconnect", catData, resDatabase, srcDBProxy, msgDB, 5, 5, 11, 0, 0, atSessionAge).says("connection closed"),
		act("db.migration.apply", catData, resDatabase, srcDeployer, msgDB, 0, .05, .5, .05, .01, atVersion, atDuration).says("migration applied"),
		act("db.table.truncate", catData, resDatabase, srcDBProxy, msgDB, 0, .02, .05, .02, .05, atTable).says("table truncated"),
		act("bucket.object.get", catData, resBucket, srcStorage, msgBucket, 18, 10, 35, .02, .008, atKey, atBytes).says("object fetched"),
		act("bucket.object.put", catData, resBucket, srcStorage, msgBucket, 4, 2, 18, .02, .004, atKey, atBytes).says("object uploaded to {res}"),
		act("bucket.object.delete", catData, resBucket, srcStorage, msgBucket, .5, .4, 4, .01, .01, atKey).says("object deleted"),
		act("bucket.object.list", catData, resBucket, srcStorage, msgBucket, 4, 3, 8, .005, .01, atCount).says("listed objects in {res}"),
		act("bucket.create", catData, resBucket, srcStorage, msgBucket, 0, .1, .05, .02, .03, atRegion).says("bucket {res} created"),
		act("bucket.delete", catData, resBucket, srcStorage, msgBucket, 0, .03, .01, .03, .06, atRegion).says("bucket {res} deleted"),
		act("bucket.policy.update", catData, resBucket, srcStorage, msgIAM, 0, .1, .05, .03, .05, atChangeID).says("bucket policy updated"),
		act("bucket.acl.change", catData, resBucket, srcStorage, msgIAM, 0, .05, .02, .02, .06, atACL).says("bucket ACL changed"),
		act("cache.flush", catData, resService, srcAPI, msgDB, .05, .2, .5, .02, .02, atRegion).says("cache flushed"),
		act("cache.read", catData, resService, srcAPI, msgDB, 0, 0, 15, .01, 0, atHit).says("cache lookup"),
		act("queue.message.publish", catData, resQueue, srcQueue, msgQueue, 0, 0, 18, .015, .002, atCount, atBytes).says("published {n} messages"),
		act("queue.message.consume", catData, resQueue, srcQueue, msgQueue, 0, 0, 18, .018, .002, atCount, atDuration).says("consumed {n} messages"),
		act("queue.purge", catData, resQueue, srcQueue, msgQueue, 0, .05, .05, .02, .05, atCount).says("queue {res} purged"),
		act("search.index.rebuild", catData, resService, srcSearch, msgDB, 0, .05, .3, .05, 0, atRows, atDuration).says("search index rebuilt"),
		act("data.export", catData, resDataset, srcStorage, msgBucket, .4, .3, .3, .03, .03, atRows, atFormat).says("export ready"),
		act("data.import", catData, resDataset, srcStorage, msgBucket, .1, .1, .5, .06, .02, atRows, atFormat).says("import completed"),
		act("report.download", catData, resReport, srcConsole, msgBucket, 3, 2, 0, .01, .01, atFormat, atBytes).says("report downloaded"),
		act("pii.access", catData, resCustomer, srcConsole, msgDB, 1.5, 1, .5, .005, .05, atPurpose, atTicket).says("customer record viewed"),
		act("dataset.share", catData, resDataset, srcStorage, msgIAM, .1, .1, 0, .02, .08, atGrantee).says("dataset {res} shared"),

		// api
		act("api.call", catAPI, resEndpoint, srcGateway, msgAPI, 25, 15, 70, .05, .012, atMethod, atStatus, atDuration).says("request completed"),
		act("api.token.create", catAPI, resToken, srcAPI, msgAPI, .6, .5, .5, .02, .02, atScope, atTTL).says("API token created"),
		act("api.token.revoke", catAPI, resToken, srcAPI, msgAPI, .2, .3, .2, .01, .02, atTrigger).says("API token revoked"),
		act("api.token.use", catAPI, resToken, srcAPI, msgAPI, 3, 2, 12, .02, .02, atScope).says("token accepted"),
		act("api.key.rotate", catAPI, resKey, srcAPI, msgSecret, .05, .1, .6, .02, .01, atKeyVersion).says("API key rotated"),
		act("api.rate_limit.exceed", catAPI, resEndpoint, srcGateway, msgAPI, .3, .1, 2, .9, 0, atLimit).says("request throttled").failsWith("rate limit exceeded", "too many requests"),
		act("api.webhook.deliver", catAPI, resWebhook, srcAPI, msgAPI, 0, 0, 8, .06, 0, atStatus, atDuration).says("webhook delivered").failsWith("connection refused", "upstream timeout", "TLS handshake failed"),
		act("api.schema.publish", catAPI, resService, srcAPI, msgAPI, 0, .05, .3, .03, .01, atVersion).says("API schema published"),
		act("api.client.register", catAPI, resNone, srcAPI, msgAPI, .05, .1, .05, .03, .02, atClient).says("OAuth client registered"),
		act("api.quota.update", catAPI, resCustomer, srcAPI, msgAPI, 0, .1, .1, .02, .04, atLimit).says("quota updated"),
		act("graphql.query", catAPI, resEndpoint, srcGateway, msgAPI, 12, 6, 15, .03, .008, atOperation, atDuration).says("query completed"),
		act("graphql.mutation", catAPI, resEndpoint, srcGateway, msgAPI, 3, 2, 4, .03, .01, atOperation, atDuration).says("mutation completed"),
		act("grpc.call", catAPI, resService, srcGateway, msgAPI, 0, 0, 25, .03, .004, atRPC, atDuration).says("RPC completed"),
		act("api.request.reject", catAPI, resEndpoint, srcGateway, msgAPI, .5, .2, 2, .4, .6, atStatus).failsWith("invalid request body", "request too large", "malformed JSON"),

		// system
		act("system.boot", catSystem, resHost, srcNode, msgSystem, 0, 0, .3, .01, 0, atKernel).says("host booted"),
		act("system.shutdown", catSystem, resHost, srcNode, msgSystem, 0, .02, .3, 0, 0, atTrigger).says("host shutting down"),
		act("system.package.install", catSystem, resHost, srcNode, msgSystem, 0, .2, 2, .03, .01, atPackage, atVersion).says("package installed"),
		act("system.package.remove", catSystem, resHost, srcNode, msgSystem, 0, .05, .3, .02, .01, atPackage).says("package removed"),
		act("system.kernel.update", catSystem, resHost, srcNode, msgSystem, 0, .02, .3, .04, 0, atKernel).says("kernel updated, reboot required"),
		act("system.user.add", catSystem, resHost, srcNode, msgSystem, 0, .05, .1, .02, .03, atGrantee).says("local user added"),
		act("system.sudo", catSystem, resHost, srcNode, msgSystem, 1, 4, .5, .02, .03, atCommand).says("sudo session opened"),
		act("system.cron.run", catSystem, resHost, srcNode, msgSystem, 0, 0, 15, .03, 0, atJob, atDuration, atExitCode).says("cron job completed").failsWith("process exited with status {n}", "job timed out"),
		act("system.service.start", catSystem, resHost, srcNode, msgSystem, 0, .2, 3, .03, .01, atUnit).says("unit started"),
		act("system.service.stop", catSystem, resHost, srcNode, msgSystem, 0, .2, 2.5, .01, .01, atUnit).says("unit stopped"),
		act("system.service.restart", catSystem, resHost, srcNode, msgSystem, .1, .6, 2, .03, .01, atUnit).says("service restarted"),
		act("system.disk.full", catSystem, resHost, srcNode, msgSystem, 0, 0, .1, 1, 0, atMount, atPercent).failsWith("disk full", "no space left on device"),
		act("system.ntp.adjust", catSystem, resHost, srcNode, msgSystem, 0, 0, 1, 0, 0, atOffset).says("clock adjusted by NTP"),
		act("system.audit.config.change", catSystem, resHost, srcNode, msgConfig, 0, .02, .05, .02, .05, atChanged).says("audit rules changed"),
		act("system.file.permission.change", catSystem, resHost, srcNode, msgSystem, .1, .3, .5, .02, .03, atPath, atMode).says("file mode changed"),
		act("system.process.kill", catSystem, resHost, srcNode, msgSystem, .05, .2, .5, .02, .02, atSignal, atPID).says("process terminated"),
		act("host.provision", catSystem, resHost, srcNode, msgSystem, 0, .05, 1, .04, 0, atRegion, atInstanceType).says("host provisioned"),
		act("host.decommission", catSystem, resHost, srcNode, msgSystem, 0, .03, .8, .02, 0, atRegion).says("host decommissioned"),
		act("host.patch", catSystem, resHost, srcNode, msgSystem, 0, .05, 1.5, .05, 0, atCount).says("patches applied"),
		act("container.start", catSystem, resNamespace, srcK8s, msgSystem, 0, 0, 12, .03, 0, atContainer, atRegion).says("container started"),
		act("container.stop", catSystem, resNamespace, srcK8s, msgSystem, 0, 0, 11, .005, 0, atContainer, atExitCode).says("container stopped"),
		act("container.oom", catSystem, resNamespace, srcK8s, msgSystem, 0, 0, .5, 1, 0, atContainer, atMemory).failsWith("out of memory", "container killed: OOMKilled"),

		// secret
		act("secret.read", catSecret, resSecret, srcVault, msgSecret, 5, 6, 30, .015, .03, atSecretVersion).says("secret read"),
		act("secret.create", catSecret, resSecret, srcVault, msgSecret, .1, .3, .3, .02, .03, atSecretVersion).says("secret {res} created"),
		act("secret.update", catSecret, resSecret, srcVault, msgSecret, .1, .4, .6, .02, .03, atSecretVersion).says("secret {res} updated"),
		act("secret.delete", catSecret, resSecret, srcVault, msgSecret, .02, .1, .1, .02, .05, atSecretVersion).says("secret {res} deleted"),
		act("secret.rotate", catSecret, resSecret, srcVault, msgSecret, 0, .1, 2, .03, .01, atSecretVersion, atTTL).says("secret {res} rotated"),
		act("secret.list", catSecret, resSecret, srcVault, msgSecret, 1, 2, 3, .005, .03, atCount).says("secrets listed"),
		act("secret.lease.renew", catSecret, resSecret, srcVault, msgSecret, 0, 0, 12, .02, .005, atTTL).says("lease renewed"),
		act("secret.lease.revoke", catSecret, resSecret, srcVault, msgSecret, 0, .05, 2, .01, .01, atTrigger).says("lease revoked"),
		act("kms.key.create", catSecret, resKey, srcKMS, msgSecret, 0, .05, .1, .02, .03, atAlgo).says("key {res} created"),
		act("kms.key.rotate", catSecret, resKey, srcKMS, msgSecret, 0, .03, .5, .02, .01, atKeyVersion).says("key {res} rotated"),
		act("kms.key.disable", catSecret, resKey, srcKMS, msgSecret, 0, .02, .02, .02, .06, atKeyVersion).says("key {res} disabled"),
		act("kms.decrypt", catSecret, resKey, srcKMS, msgSecret, 0, 0, 25, .012, .006, atKeyVersion).says("decrypt succeeded"),
		act("kms.encrypt", catSecret, resKey, srcKMS, msgSecret, 0, 0, 15, .01, .004, atKeyVersion).says("encrypt succeeded"),
		act("kms.sign", catSecret, resKey, srcKMS, msgSecret, 0, 0, 6, .004, .004, atAlgo).says("signature created"),
		act("vault.seal", catSecret, resNone, srcVault, msgSecret, 0, .005, .005, 0, .1, atTrigger).says("vault sealed"),
		act("vault.unseal", catSecret, resNone, srcVault, msgSecret, 0, .01, .01, .1, .05, atShares).says("vault unsealed").failsWith("unseal key invalid"),
		act("vault.policy.update", catSecret, resPolicy, srcVault, msgIAM, 0, .1, .1, .03, .04, atChangeID).says("vault policy {res} updated"),

		// billing
		act("billing.invoice.create", catBilling, resCustomer, srcBilling, msgBilling, 0, .05, 6, .01, 0, atAmount).says("invoice issued"),
		act("billing.payment.capture", catBilling, resCustomer, srcBilling, msgBilling, 0, 0, 5, .04, 0, atAmount).says("payment captured"),
		act("payment.refund.create", catBilling, resCustomer, srcBilling, msgBilling, .3, .3, .5, .03, .08, atAmount).says("refund processed"),
		act("billing.subscription.cancel", catBilling, resCustomer, srcBilling, msgBilling, .05, .02, .3, .02, .01, atPlan).says("subscription cancelled"),
		act("payment.method.update", catBilling, resCustomer, srcBilling, msgBilling, .1, 0, .5, .06, 0, atCardBrand).says("payment method updated"),
		act("billing.credit.apply", catBilling, resCustomer, srcBilling, msgBilling, 0, .1, .2, .01, .04, atAmount).says("credit applied"),
	}
}
