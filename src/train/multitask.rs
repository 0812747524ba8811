//! The multi-task model: shared encoder → mean pooling (optionally L2
//! normalised) → one linear head per task, and its training step
//! (loss and hand-written reverse-mode gradients under a freezing plan).

use super::grads::Grads;
use super::group::ParamGroup;
use super::loss::{cross_entropy_backward, cross_entropy_forward};
use super::pair_loss::{cosine_loss, supcon_loss, Pair, PairLoss};
use super::plan::Plan;
use super::task::{HeadSpec, Task};
use crate::config::BertConfig;
use crate::error::{Error, Result};
use crate::model::dropout::Dropout;
use crate::model::forward::{Record, Scratch};
use crate::model::heads::Head;
use crate::model::layer::{Layer, LayerActs, LayerDropout};
use crate::model::pooling::{
    l2_normalize_rows, l2_normalize_rows_backward, mean_pool, mean_pool_backward,
};
use crate::model::{BertModel, TokenBatch};
use crate::precision::Precision;
use crate::weights::{expected_tensors, ParamStore, Tensor};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};

/// Seed of the heads' initial values when the parameters carry none.
pub const HEAD_INIT_SEED: u64 = 0;

/// Training mode (dropout on, in the layers that keep activations) or
/// evaluation mode (no dropout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Dropout on.
    Train,
    /// Dropout off.
    Eval,
}

/// What enters the encoder for one batch.
#[derive(Clone, Copy, Debug)]
pub enum EncoderInput<'a> {
    /// Token ids: the encoder runs from the embeddings.
    Tokens(&'a TokenBatch),
    /// Hidden states `[tokens, hidden]` at the input of encoder layer
    /// `layer` (the output of layer `layer − 1`; `layer = 0` is the
    /// embeddings output), e.g. a cached [`MultiTaskModel::frozen_prefix`].
    Hidden {
        /// The batch the states belong to (boundaries of its sequences).
        batch: &'a TokenBatch,
        /// `[tokens, hidden]`.
        states: &'a [f32],
        /// The layer these states enter.
        layer: usize,
    },
}

impl<'a> EncoderInput<'a> {
    /// The batch, whichever the form.
    pub fn batch(&self) -> &'a TokenBatch {
        match *self {
            EncoderInput::Tokens(b) => b,
            EncoderInput::Hidden { batch, .. } => batch,
        }
    }
}

/// One task's batch for a training step: inputs and one label per sequence.
#[derive(Clone, Copy, Debug)]
pub struct TaskBatch<'a> {
    /// Which head.
    pub task: Task,
    /// Tokens or cached hidden states.
    pub input: EncoderInput<'a>,
    /// Class index per sequence.
    pub labels: &'a [usize],
}

/// One task's part of a step.
#[derive(Clone, Debug)]
pub struct TaskLoss {
    /// Which head.
    pub task: Task,
    /// Mean cross-entropy over the task's batch.
    pub loss: f64,
    /// `[sequences, classes]`.
    pub logits: Vec<f32>,
}

/// The result of a step: the total loss (sum of the tasks' mean losses) and
/// each task's part.
#[derive(Clone, Debug)]
pub struct StepOutput {
    /// Σ over tasks of the mean cross-entropy.
    pub loss: f64,
    /// Per task, in the order given.
    pub tasks: Vec<TaskLoss>,
}

/// What the training forward of the encoder keeps for its backward.
struct Encoded {
    /// Sentence embeddings `[rows, hidden]` (normalised when `norms` is set).
    pooled: Vec<f32>,
    /// Each row's norm before normalisation, when normalised.
    norms: Option<Vec<f32>>,
    /// Activations of each layer from the first trainable one up.
    acts: Vec<LayerActs>,
}

/// Shared encoder + two task heads, with parameters by tensor name.
#[derive(Clone, Debug)]
pub struct MultiTaskModel {
    config: BertConfig,
    /// Every parameter: the model file's names plus `head_a.*`, `head_b.*`.
    params: ParamStore,
    /// The encoder, packed for the kernels (rebuilt from `params` by [`MultiTaskModel::refresh`]).
    bert: BertModel,
    heads: [Head; 2],
    specs: [HeadSpec; 2],
    normalize: bool,
    hidden_dropout: f32,
    attention_dropout: f32,
}

impl MultiTaskModel {
    /// Build from the encoder's parameters and the two heads' specs. Head
    /// tensors (`head_a.*`, `head_b.*`) present in `encoder_params` (a
    /// checkpoint) are used when their shapes match the specs; absent ones
    /// are drawn as `torch.nn.Linear` does, from [`HEAD_INIT_SEED`].
    pub fn new(
        encoder_params: &ParamStore,
        config: &BertConfig,
        heads: [HeadSpec; 2],
    ) -> Result<Self> {
        Self::from_params(encoder_params.clone(), config, heads)
    }

    /// [`MultiTaskModel::new`] taking the parameters by value (no copy of
    /// the ~91 MB of weights).
    pub fn from_params(
        mut params: ParamStore,
        config: &BertConfig,
        heads: [HeadSpec; 2],
    ) -> Result<Self> {
        for (name, shape) in expected_tensors(config) {
            match params.try_get(&name) {
                Some(t) if t.shape == shape => {}
                Some(t) => {
                    return Err(Error::msg(format!(
                        "parameter {name}: shape {:?}, expected {shape:?}",
                        t.shape
                    )))
                }
                None => return Err(Error::msg(format!("parameter {name} is missing"))),
            }
        }
        if heads[0].name == heads[1].name {
            return Err(Error::msg(format!(
                "both tasks are called {:?}",
                heads[0].name
            )));
        }
        let h = config.hidden_size;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(HEAD_INIT_SEED);
        for (t, spec) in Task::ALL.iter().zip(&heads) {
            let c = spec.classes.len();
            if c < 2 {
                return Err(Error::msg(format!(
                    "task {:?} needs at least 2 classes, has {c}",
                    spec.name
                )));
            }
            let p = t.head_prefix();
            let (w, b) = (format!("{p}.weight"), format!("{p}.bias"));
            match (params.try_get(&w), params.try_get(&b)) {
                (Some(tw), Some(tb)) => {
                    if tw.shape != [c, h] || tb.shape != [c] {
                        return Err(Error::msg(format!(
                            "{p}: shapes {:?} and {:?}, but task {:?} has {c} classes on {h} features",
                            tw.shape, tb.shape, spec.name
                        )));
                    }
                }
                _ => {
                    let (tw, tb) = Head::init_params(c, h, || rng.next_u64());
                    params.insert(w, tw);
                    params.insert(b, tb);
                }
            }
        }
        let bert = BertModel::from_store(config, &params);
        let mk = |t: Task| {
            Head::from_store(
                &params,
                t.head_prefix(),
                &heads[t.index()].name,
                &heads[t.index()].classes,
            )
        };
        let heads_built = [mk(Task::A), mk(Task::B)];
        Ok(MultiTaskModel {
            config: config.clone(),
            params,
            bert,
            heads: heads_built,
            specs: heads,
            normalize: false,
            hidden_dropout: config.hidden_dropout,
            attention_dropout: config.attention_dropout,
        })
    }

    /// The model with its encoder's dense layers in `precision` for
    /// inference (`embed`, prediction); training needs f32 and refuses any
    /// other. An int8 parameter store runs only at int8.
    pub fn with_precision(mut self, precision: Precision) -> Result<Self> {
        self.params.check_runs_at(precision)?;
        if precision != self.bert.precision {
            self.bert = BertModel::from_store_at(&self.config, &self.params, precision);
        }
        Ok(self)
    }

    /// Whether the sentence embedding is L2-normalised before the heads
    /// (default off, as in the original recipe).
    pub fn with_normalize(mut self, on: bool) -> Self {
        self.normalize = on;
        self
    }
    /// Whether pooled embeddings are normalised.
    pub fn normalize(&self) -> bool {
        self.normalize
    }
    /// Dropout probabilities in training mode (default: the config's, 0.1 and 0.1).
    pub fn with_dropout(mut self, hidden: f32, attention: f32) -> Self {
        self.hidden_dropout = hidden;
        self.attention_dropout = attention;
        self
    }

    /// The encoder's shape.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }
    /// Every parameter by name.
    pub fn params(&self) -> &ParamStore {
        &self.params
    }
    /// Mutable parameters (an optimizer step); call [`MultiTaskModel::refresh`] afterwards.
    pub fn params_mut(&mut self) -> &mut ParamStore {
        &mut self.params
    }
    /// The packed encoder.
    pub fn bert(&self) -> &BertModel {
        &self.bert
    }
    /// The head of `task`.
    pub fn head(&self, task: Task) -> &Head {
        &self.heads[task.index()]
    }
    /// The spec (name, classes) of `task`.
    pub fn spec(&self, task: Task) -> &HeadSpec {
        &self.specs[task.index()]
    }
    /// The task called `name`: its own name (e.g. `topic`) or `A`/`B`.
    pub fn task(&self, name: &str) -> Option<Task> {
        Task::ALL
            .into_iter()
            .find(|t| self.specs[t.index()].name == name)
            .or_else(|| Task::from_letter(name))
    }

    /// Rebuild (re-pack) what `plan` trains from the parameter store: call
    /// after an optimizer step changed those parameters.
    pub fn refresh(&mut self, plan: &Plan) {
        for &l in plan.layers() {
            self.bert.layers[l] = Layer::from_store(&self.params, l, &self.config);
        }
        for t in Task::ALL {
            if plan.trains_head(t) {
                self.rebuild_head(t);
            }
        }
    }

    /// Rebuild everything from the parameter store (after replacing any tensor).
    pub fn refresh_all(&mut self) {
        self.bert = BertModel::from_store_at(&self.config, &self.params, self.bert.precision);
        for t in Task::ALL {
            self.rebuild_head(t);
        }
    }

    /// Rebuild both heads from the parameter store (after setting their tensors).
    pub fn refresh_all_heads(&mut self) {
        for t in Task::ALL {
            self.rebuild_head(t);
        }
    }

    fn rebuild_head(&mut self, t: Task) {
        let s = &self.specs[t.index()];
        self.heads[t.index()] =
            Head::from_store(&self.params, t.head_prefix(), &s.name, &s.classes);
    }

    /// Sentence embeddings `[sequences, hidden]` (inference).
    pub fn embed(&self, batch: &TokenBatch) -> Vec<f32> {
        let x = self.bert.forward(batch, None);
        let h = self.config.hidden_size;
        let mut pooled = mean_pool(&x, batch, h);
        if self.normalize {
            l2_normalize_rows(&mut pooled, h);
        }
        pooled
    }

    /// Logits `[sequences, classes]` of `task` (inference, no dropout).
    pub fn forward(&self, batch: &TokenBatch, task: Task) -> Vec<f32> {
        let pooled = self.embed(batch);
        self.heads[task.index()].forward(&pooled, batch.len())
    }

    /// Hidden states at the input of `plan.first_layer()`: the frozen
    /// prefix (embeddings and the layers below the first trainable one),
    /// run as plain inference. Their rows `starts[i]..starts[i+1]` belong to
    /// sequence `i` alone, so they can be cached per example and reassembled
    /// into any batch ([`EncoderInput::Hidden`]).
    pub fn frozen_prefix(&self, batch: &TokenBatch, plan: &Plan) -> Vec<f32> {
        self.states_at(EncoderInput::Tokens(batch), plan.first_layer())
    }

    /// Run the frozen part from `input` up to the input of layer `layer`.
    fn states_at(&self, input: EncoderInput<'_>, layer: usize) -> Vec<f32> {
        let (mut x, batch, from) = match input {
            EncoderInput::Tokens(b) => {
                let mut x = vec![0.0; b.tokens() * self.config.hidden_size];
                self.bert.embeddings.forward(b, &mut x);
                (x, b, 0)
            }
            EncoderInput::Hidden {
                batch,
                states,
                layer,
            } => (states.to_vec(), batch, layer),
        };
        self.bert.forward_layers(&mut x, batch, from..layer, None)
    }

    /// Loss of a set of task batches in evaluation mode, without gradients.
    pub fn loss(&self, batches: &[TaskBatch<'_>]) -> Result<StepOutput> {
        let frozen = Plan::new(self.config.num_layers, [], false, false)?;
        let mut none = Grads::default();
        self.loss_and_grads(
            batches,
            &frozen,
            Mode::Eval,
            &mut Xoshiro256PlusPlus::seed_from_u64(0),
            &mut none,
        )
    }

    /// One step's forward and backward: total loss `Σ_tasks mean CE` over
    /// `batches` (each routed through its task's head), with the gradients
    /// of every tensor `plan` trains accumulated into `grads` (made by
    /// [`Grads::new`] for this plan; not cleared here). In [`Mode::Train`],
    /// dropout masks of the layers that keep activations are drawn from `rng`.
    /// Batches run one after another, so activations of one batch at a time
    /// are alive.
    pub fn loss_and_grads<R: Rng + ?Sized>(
        &self,
        batches: &[TaskBatch<'_>],
        plan: &Plan,
        mode: Mode,
        rng: &mut R,
        grads: &mut Grads,
    ) -> Result<StepOutput> {
        if plan.num_layers() != self.config.num_layers {
            return Err(Error::msg(format!(
                "plan made for {} layers, the encoder has {}",
                plan.num_layers(),
                self.config.num_layers
            )));
        }
        let (h, f) = (self.config.hidden_size, self.config.intermediate_size);
        if let Some(n) = plan
            .trainable_names(h, f)
            .into_iter()
            .find(|n| grads.get(n).is_none())
        {
            return Err(Error::msg(format!(
                "the gradient store has no {n}: make it with Grads::new for this plan"
            )));
        }
        let mut out = StepOutput {
            loss: 0.0,
            tasks: Vec::new(),
        };
        for tb in batches {
            let tl = self.task_step(tb, plan, mode, rng, grads)?;
            out.loss += tl.loss;
            out.tasks.push(tl);
        }
        Ok(out)
    }

    fn layer_dropout<R: Rng + ?Sized>(&self, mode: Mode, rng: &mut R) -> LayerDropout {
        let mut site =
            |p: f32| (mode == Mode::Train && p > 0.0).then(|| Dropout::new(p, rng.next_u64()));
        LayerDropout {
            attention_probs: site(self.attention_dropout),
            attention_output: site(self.hidden_dropout),
            output: site(self.hidden_dropout),
        }
    }

    /// Check that `input` can enter a run that trains from `plan`'s first
    /// layer (`what` names the batch in errors).
    fn check_input(&self, input: &EncoderInput<'_>, plan: &Plan, what: &str) -> Result<()> {
        let batch = input.batch();
        let h = self.config.hidden_size;
        let trains = !plan.layers().is_empty() || Task::ALL.iter().any(|&t| plan.trains_head(t));
        let f32_only =
            self.bert.precision == Precision::F32 && self.params.precision() == Precision::F32;
        if trains && !f32_only {
            return Err(Error::msg(format!(
                "training needs f32 weights and arithmetic; this model runs at {} (an int8 \
                 model folder cannot be trained: train from the f32 folder)",
                if self.bert.precision == Precision::F32 {
                    self.params.precision()
                } else {
                    self.bert.precision
                }
            )));
        }
        if batch.is_empty() {
            return Err(Error::msg(format!("{what}: empty batch")));
        }
        let first = plan.first_layer();
        if let EncoderInput::Hidden { states, layer, .. } = *input {
            if layer > first {
                return Err(Error::msg(format!(
                    "hidden states enter layer {layer}, but plan {plan} trains from layer {first}"
                )));
            }
            if states.len() != batch.tokens() * h {
                return Err(Error::msg(format!(
                    "hidden states hold {} values, expected {} tokens × {h}",
                    states.len(),
                    batch.tokens()
                )));
            }
        }
        Ok(())
    }

    /// Training forward of the encoder: the frozen prefix as plain
    /// inference, the layers from `plan`'s first trainable one keeping their
    /// activations, mean pooling, and L2 normalisation when `normalize`.
    fn encode_train<R: Rng + ?Sized>(
        &self,
        input: EncoderInput<'_>,
        plan: &Plan,
        mode: Mode,
        rng: &mut R,
        normalize: bool,
    ) -> Encoded {
        let batch = input.batch();
        let h = self.config.hidden_size;
        let first = plan.first_layer();
        let mut x = self.states_at(input, first);
        let mut acts = Vec::with_capacity(self.config.num_layers - first);
        let mut scratch = Scratch::default();
        for l in first..self.config.num_layers {
            let dropout = self.layer_dropout(mode, rng);
            let mut a = LayerActs::default();
            let record = Record::Backward(&mut a);
            self.bert.layers[l].forward(&mut x, batch, &mut scratch, record, dropout);
            acts.push(a);
        }
        let mut pooled = mean_pool(&x, batch, h);
        let norms = normalize.then(|| l2_normalize_rows(&mut pooled, h));
        Encoded {
            pooled,
            norms,
            acts,
        }
    }

    /// Backward of [`MultiTaskModel::encode_train`] from `dpooled` (the
    /// gradient of the loss with respect to its output), into the gradients
    /// of the encoder layers `plan` trains.
    fn encode_backward(
        &self,
        batch: &TokenBatch,
        enc: Encoded,
        mut dpooled: Vec<f32>,
        plan: &Plan,
        grads: &mut Grads,
    ) {
        let h = self.config.hidden_size;
        let Encoded {
            pooled,
            norms,
            mut acts,
        } = enc;
        if let Some(norms) = &norms {
            let mut d = vec![0.0; dpooled.len()];
            l2_normalize_rows_backward(&pooled, norms, &dpooled, h, &mut d);
            dpooled = d;
        }
        let mut dx = vec![0.0; batch.tokens() * h];
        mean_pool_backward(&dpooled, batch, h, &mut dx);
        let first = plan.first_layer();
        for l in (first..self.config.num_layers).rev() {
            let a = acts.pop().expect("one activation set per layer");
            // The first layer's input gradient is not needed: nothing below trains.
            let mut dprev = (l > first).then(|| vec![0.0; dx.len()]);
            let g = if plan.trains_layer(l) {
                grads.layer_mut(l)
            } else {
                None
            };
            self.bert.layers[l].backward(batch, &a, &dx, dprev.as_deref_mut(), g);
            drop(a);
            if let Some(d) = dprev {
                dx = d;
            }
        }
    }

    fn task_step<R: Rng + ?Sized>(
        &self,
        tb: &TaskBatch<'_>,
        plan: &Plan,
        mode: Mode,
        rng: &mut R,
        grads: &mut Grads,
    ) -> Result<TaskLoss> {
        let batch = tb.input.batch();
        let rows = batch.len();
        self.check_input(&tb.input, plan, &format!("task {}", tb.task))?;
        if tb.labels.len() != rows {
            return Err(Error::msg(format!(
                "task {}: {} labels for {rows} sequences",
                tb.task,
                tb.labels.len()
            )));
        }
        let enc = self.encode_train(tb.input, plan, mode, rng, self.normalize);
        let head = &self.heads[tb.task.index()];
        let logits = head.forward(&enc.pooled, rows);
        let ce = cross_entropy_forward(&logits, head.num_classes(), tb.labels)
            .map_err(|e| Error::msg(format!("task {}: {e}", tb.task)))?;
        let result = TaskLoss {
            task: tb.task,
            loss: ce.loss,
            logits,
        };
        if plan.is_frozen() {
            return Ok(result);
        }

        // Backward, in mirror order.
        let mut dlogits = vec![0.0; result.logits.len()];
        cross_entropy_backward(&ce, tb.labels, 1.0, &mut dlogits);
        let encoder_trains = plan.first_layer() < self.config.num_layers;
        let mut dpooled = encoder_trains.then(|| vec![0.0; rows * self.config.hidden_size]);
        let head_grad = if plan.trains_head(tb.task) {
            grads.head_mut(tb.task)
        } else {
            None
        };
        head.backward(
            &enc.pooled,
            &dlogits,
            rows,
            dpooled.as_deref_mut(),
            head_grad,
        );
        if let Some(dpooled) = dpooled {
            self.encode_backward(batch, enc, dpooled, plan, grads);
        }
        Ok(result)
    }

    /// Contrastive step on one batch of one task: the L2-normalised sentence
    /// embeddings of `input` (labels `labels`, one per sequence), the pair
    /// loss `loss` on them (`pairs` for [`PairLoss::Cosine`], every
    /// same-label row for [`PairLoss::SupCon`]), and its gradients through
    /// normalisation, pooling and the encoder layers `plan` trains,
    /// accumulated into `grads` (scaled by `scale`). Returns the loss.
    #[allow(clippy::too_many_arguments)]
    pub fn pair_loss_and_grads<R: Rng + ?Sized>(
        &self,
        input: EncoderInput<'_>,
        labels: &[usize],
        pairs: &[Pair],
        loss: PairLoss,
        scale: f32,
        plan: &Plan,
        mode: Mode,
        rng: &mut R,
        grads: &mut Grads,
    ) -> Result<f64> {
        let batch = input.batch();
        self.check_input(&input, plan, "pair batch")?;
        if labels.len() != batch.len() {
            return Err(Error::msg(format!(
                "pair batch: {} labels for {} sequences",
                labels.len(),
                batch.len()
            )));
        }
        let h = self.config.hidden_size;
        let trains = plan.first_layer() < self.config.num_layers;
        let enc = self.encode_train(input, plan, mode, rng, true);
        let mut dz = trains.then(|| vec![0.0f32; enc.pooled.len()]);
        let value = match loss {
            PairLoss::Cosine => cosine_loss(&enc.pooled, h, pairs, scale, dz.as_deref_mut())?,
            PairLoss::SupCon { temperature } => supcon_loss(
                &enc.pooled,
                h,
                labels,
                temperature,
                scale,
                dz.as_deref_mut(),
            )?,
        };
        if let Some(dz) = dz {
            self.encode_backward(batch, enc, dz, plan, grads);
        }
        Ok(value)
    }

    /// L2-normalised sentence embeddings `[sequences, hidden]` of `input`
    /// (evaluation mode), whatever the model's `normalize` setting.
    pub fn embed_input(&self, input: EncoderInput<'_>) -> Vec<f32> {
        let x = self.states_at(input, self.config.num_layers);
        let h = self.config.hidden_size;
        let mut pooled = mean_pool(&x, input.batch(), h);
        for row in pooled.chunks_mut(h) {
            crate::model::pooling::l2_normalize(row);
        }
        pooled
    }

    /// Head parameters as a store (`head_a.*`, `head_b.*`), e.g. for a checkpoint.
    pub fn head_params(&self) -> ParamStore {
        let mut s = ParamStore::default();
        for (n, t) in self
            .params
            .iter()
            .filter(|(n, _)| ParamGroup::of(n).is_head())
        {
            s.insert(
                n,
                Tensor {
                    shape: t.shape.clone(),
                    data: t.data.clone(),
                },
            );
        }
        s
    }
}
