//! Agent kinds an experiment can name, and how each is configured.
//!
//! An agent table holds `kind`, an optional `name` and `preset`, and the
//! kind's hyperparameters, which are checked by the kind's config struct
//! (unknown keys are errors with a did-you-mean).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::agents::dp::{
    policy::read_policy, EvalConfig, EvalMethod, InitialPolicy, PiConfig, Policy, TpiConfig, ViConfig,
};
use crate::config::{Doc, Seg};
use crate::env::{LoadedEnv, World};
use crate::{Error, Result};

/// The dynamic-programming kinds, with one line of description each.
pub const DP_KINDS: &[(&str, &str)] = &[
    ("value-iteration", "value iteration (Zhao Alg. 4.1): tol, max_iterations, v0"),
    ("policy-iteration", "policy iteration (Zhao Alg. 4.2): tol, eval_tol, max_iterations, initial_policy"),
    (
        "truncated-policy-iteration",
        "truncated policy iteration (Zhao Alg. 4.3): sweeps (j), tol, max_iterations, initial_policy",
    ),
    ("policy-evaluation", "evaluate a given policy: policy (\"uniform\" or a file), method, tol"),
];

/// Hyperparameters of the `policy-evaluation` kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyEvalSpec {
    /// `"uniform"`, or a policy file (symbol grid, or `state,action,prob` CSV).
    #[serde(default = "uniform")]
    pub policy: String,
    /// `"iterative"` (synchronous), `"in-place"` or `"exact"`.
    #[serde(default)]
    pub method: EvalMethod,
    /// Stop when the largest change of a sweep is below tol.
    #[serde(default = "default_eval_tol")]
    pub tol: f64,
    /// Give up after this many sweeps.
    #[serde(default = "default_max_sweeps")]
    pub max_sweeps: usize,
}

fn uniform() -> String {
    "uniform".into()
}
fn default_eval_tol() -> f64 {
    EvalConfig::default().tol
}
fn default_max_sweeps() -> usize {
    EvalConfig::default().max_sweeps
}

/// A configured dynamic-programming job.
#[derive(Debug, Clone)]
pub enum DpJob {
    /// Value iteration.
    Vi(ViConfig),
    /// Policy iteration.
    Pi(PiConfig),
    /// Truncated policy iteration.
    Tpi(TpiConfig),
    /// Policy evaluation of a given policy.
    Eval {
        /// The evaluation settings.
        cfg: EvalConfig,
        /// The policy.
        policy: Policy,
        /// Where it came from (`uniform` or a path).
        source: String,
    },
}

/// What an agent is.
#[derive(Debug, Clone)]
pub enum AgentJob {
    /// A dynamic-programming solver (deterministic: run once).
    Dp(DpJob),
    /// A kind handled by another family (learning agents, stochastic approximation):
    /// its raw hyperparameter table.
    Other(toml::Table),
}

/// An agent ready to run.
#[derive(Debug, Clone)]
pub struct ResolvedAgent {
    /// Its label.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// What to run.
    pub job: AgentJob,
    /// Its hyperparameters with every default filled in (for `config.resolved.toml`).
    pub resolved: toml::Table,
}

/// Every kind name known to the runner.
pub fn all_kinds() -> Vec<String> {
    let mut v: Vec<String> = DP_KINDS.iter().map(|k| k.0.to_string()).collect();
    v.extend(super::extra_kinds());
    v
}

fn to_table<T: Serialize>(x: &T) -> toml::Table {
    match toml::Value::try_from(x) {
        Ok(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    }
}

/// At gamma = 1, policy iteration evaluates its first policy exactly: the
/// greedy policy on v0 (lowest action on ties) must reach a terminal state from
/// every state, or the evaluation never ends. `Some(message)` when it does not.
fn improper_first_policy(w: &World, init: InitialPolicy, v0: f64) -> Option<String> {
    let m = w.model();
    if m.gamma < 1.0 || init != InitialPolicy::Greedy {
        return None;
    }
    let v: Vec<f64> = (0..m.n_states()).map(|s| if m.is_fixed(s) { 0.0 } else { v0 }).collect();
    let first = Policy::deterministic(m.n_actions(), &crate::agents::dp::greedy(m, &v));
    let bad = m.improper_states(first.probs());
    bad.first().map(|&s| {
        format!(
            "at gamma = 1 the first policy (greedy on v0 = {v0}) never reaches a terminal state from {} ({} states in all), so its evaluation would never end; set initial_policy = \"uniform\" or use gamma < 1",
            w.state_label(s),
            bad.len()
        )
    })
}

/// Resolve agent `i` of `doc` (its table is at `agents[i]`).
pub fn resolve_agent(doc: &Doc, i: usize, env: Option<&LoadedEnv>) -> Result<ResolvedAgent> {
    let world = env.and_then(LoadedEnv::finite);
    let prefix = [Seg::Key("agents".into()), Seg::Index(i)];
    let Some(toml::Value::Table(table)) = crate::config::get_path(&doc.table, &prefix) else {
        return Err(doc.error_at(&prefix, "must be a table with at least `kind`"));
    };
    let mut params = table.clone();
    let kind = match params.remove("kind") {
        Some(toml::Value::String(k)) => k,
        Some(_) => {
            return Err(doc
                .error_at(&[prefix[0].clone(), prefix[1].clone(), Seg::Key("kind".into())], "`kind` must be a string"))
        }
        None => {
            return Err(doc.error_at(&prefix, &format!("missing field `kind`; valid kinds: {}", all_kinds().join(", "))))
        }
    };
    let name = match params.remove("name") {
        Some(toml::Value::String(n)) => n,
        Some(_) => {
            return Err(doc
                .error_at(&[prefix[0].clone(), prefix[1].clone(), Seg::Key("name".into())], "`name` must be a string"))
        }
        None => kind.clone(),
    };
    params.remove("preset");
    let at = |k: &str| [prefix[0].clone(), prefix[1].clone(), Seg::Key(k.into())];
    let de = |p: &toml::Table| toml::Value::Table(p.clone());
    let need_world = |what: &str| -> Result<&World> {
        match env {
            None => Err(doc.error_at(&prefix, &format!("`{what}` needs an environment: add an [env] table"))),
            Some(LoadedEnv::Continuous(t)) => Err(doc.error_at(
                &[prefix[0].clone(), prefix[1].clone(), Seg::Key("kind".into())],
                &format!(
                    "`{what}` needs a finite env with a tabular model, but `{}` is continuous; use an approximating kind ({})",
                    t.name,
                    crate::agents::approx::kinds().join(", ")
                ),
            )),
            Some(LoadedEnv::Finite(w)) => Ok(w),
        }
    };
    let finite_pos = |v: f64, k: &str| -> Result<()> {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(doc.error_at(&at(k), &format!("{k} = {v} must be a finite number > 0")))
        }
    };
    let finite = |v: f64, k: &str| -> Result<()> {
        if v.is_finite() {
            Ok(())
        } else {
            Err(doc.error_at(&at(k), &format!("{k} = {v} must be a finite number")))
        }
    };
    let (job, resolved) = match kind.as_str() {
        "value-iteration" => {
            super::load::check_episodic(doc, need_world(&kind)?)?;
            let c: ViConfig = doc.deserialize_value(de(&params), &prefix)?;
            finite_pos(c.tol, "tol")?;
            finite(c.v0, "v0")?;
            let r = to_table(&c);
            (AgentJob::Dp(DpJob::Vi(c)), r)
        }
        "policy-iteration" => {
            let w = need_world(&kind)?;
            super::load::check_episodic(doc, w)?;
            let c: PiConfig = doc.deserialize_value(de(&params), &prefix)?;
            finite_pos(c.tol, "tol")?;
            finite_pos(c.eval_tol, "eval_tol")?;
            finite(c.v0, "v0")?;
            if let Some(msg) = improper_first_policy(w, c.initial_policy, c.v0) {
                return Err(doc.error_at(&at("initial_policy"), &msg));
            }
            let r = to_table(&c);
            (AgentJob::Dp(DpJob::Pi(c)), r)
        }
        "truncated-policy-iteration" => {
            super::load::check_episodic(doc, need_world(&kind)?)?;
            let c: TpiConfig = doc.deserialize_value(de(&params), &prefix)?;
            if c.sweeps == Some(0) {
                return Err(doc.error_at(
                    &at("sweeps"),
                    "sweeps must be >= 1 (for j = infinity use kind = \"policy-iteration\")",
                ));
            }
            finite_pos(c.tol, "tol")?;
            finite_pos(c.eval_tol, "eval_tol")?;
            finite(c.v0, "v0")?;
            let r = to_table(&c);
            (AgentJob::Dp(DpJob::Tpi(c)), r)
        }
        "policy-evaluation" => {
            let w = need_world(&kind)?;
            let c: PolicyEvalSpec = doc.deserialize_value(de(&params), &prefix)?;
            finite_pos(c.tol, "tol")?;
            if c.max_sweeps == 0 {
                return Err(doc.error_at(&at("max_sweeps"), "max_sweeps must be >= 1"));
            }
            let policy = if c.policy == "uniform" {
                Policy::uniform(w.model().n_states(), w.model().n_actions())
            } else {
                let path = super::load::resolve_path(doc.file(), &c.policy);
                read_policy(w, Path::new(&path))?
            };
            let cfg = EvalConfig { method: c.method, tol: c.tol, max_sweeps: c.max_sweeps };
            crate::agents::dp::evaluation::check_proper(w.model(), &policy, |s| w.state_label(s))
                .map_err(|e| doc.error_at(&at("policy"), &e.to_string()))?;
            let r = to_table(&c);
            (AgentJob::Dp(DpJob::Eval { cfg, policy, source: c.policy.clone() }), r)
        }
        other => match super::resolve_extra(doc, &prefix, other, &params, env)? {
            Some(r) => (AgentJob::Other(r.clone()), r),
            None => {
                let kinds = all_kinds();
                let refs: Vec<&str> = kinds.iter().map(String::as_str).collect();
                let hint = crate::config::did_you_mean(other, &refs)
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                return Err(doc.error_at(
                    &at("kind"),
                    &format!(
                        "unknown agent kind `{other}`{hint} (valid: {}; `rlkit list` describes them)",
                        kinds.join(", ")
                    ),
                ));
            }
        },
    };
    let mut resolved_full = toml::Table::new();
    resolved_full.insert("kind".into(), toml::Value::String(kind.clone()));
    resolved_full.insert("name".into(), toml::Value::String(name.clone()));
    resolved_full.extend(resolved);
    if !(0.0..=1.0).contains(&world.map_or(0.5, World::gamma)) {
        return Err(Error::internal("gamma out of range after validation"));
    }
    Ok(ResolvedAgent { name, kind, job, resolved: resolved_full })
}
