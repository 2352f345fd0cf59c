//! Layer 2: every distinct lowered selector gets a [`SelId`]; each is matched
//! once against every distinct label set (endpoints with identical labels, e.g.
//! replicas, share one row), giving a label-group × selector bit matrix.
//! Cost ≈ distinct selectors × distinct label sets, paid at build time, never per flow.

use std::collections::HashMap;

use tabby_model::LabelMap;
use tabby_selector::{CompiledSelector, Interner, Labels, Selector};

use crate::bitset::BitSet;
use crate::endpoints::Endpoint;

/// Dense id of a lowered selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct SelId(pub u32);

impl SelId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One lowered selector.
#[derive(Debug, Clone)]
pub struct SelectorEntry {
    /// Canonical text (Calico's `Selector.String()` form) when it parses.
    pub text: String,
    /// `None` only if lowering produced text that does not parse (a bug); such a
    /// selector matches nothing.
    pub selector: Option<Selector>,
    compiled: Option<CompiledSelector>,
}

/// Interned lowered selectors, deduplicated by canonical text.
#[derive(Debug, Clone, Default)]
pub struct SelectorTable {
    entries: Vec<SelectorEntry>,
    by_text: HashMap<String, SelId>,
    interner: Interner,
}

impl SelectorTable {
    pub fn intern(&mut self, text: &str) -> SelId {
        if let Some(id) = self.by_text.get(text) {
            return *id;
        }
        let parsed = Selector::parse(text).ok();
        let canon = parsed
            .as_ref()
            .map_or_else(|| text.to_owned(), ToString::to_string);
        if let Some(id) = self.by_text.get(&canon).copied() {
            self.by_text.insert(text.to_owned(), id);
            return id;
        }
        let id = SelId(self.entries.len() as u32);
        let compiled = parsed
            .as_ref()
            .map(|s| CompiledSelector::compile(s, &mut self.interner));
        self.entries.push(SelectorEntry {
            text: canon.clone(),
            selector: parsed,
            compiled,
        });
        self.by_text.insert(canon, id);
        self.by_text.insert(text.to_owned(), id);
        id
    }

    pub fn get(&self, id: SelId) -> Option<&SelectorEntry> {
        self.entries.get(id.index())
    }

    /// Canonical text of a selector (empty if unknown).
    pub fn text(&self, id: SelId) -> &str {
        self.get(id).map_or("", |e| e.text.as_str())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Which selectors match which label groups.
#[derive(Debug, Clone, Default)]
pub struct MatchIndex {
    groups: Vec<Labels>,
    group_of: HashMap<LabelMap, u32>,
    /// Per group: the SelIds matching it.
    rows: Vec<BitSet>,
    /// SelIds below this are evaluated for every group.
    computed: usize,
    /// Per endpoint: its label group.
    entity_group: Vec<u32>,
}

fn matches(entry: &SelectorEntry, labels: &Labels, interner: &Interner) -> bool {
    entry
        .compiled
        .as_ref()
        .is_some_and(|s| s.matches(labels, interner))
}

impl MatchIndex {
    /// Brings the matrix up to date with `table` and `endpoints`: new label groups
    /// are matched against every selector, new selectors against every group.
    /// Nothing already computed is recomputed.
    pub fn update(&mut self, table: &mut SelectorTable, endpoints: &[Endpoint]) {
        let old_groups = self.groups.len();
        self.entity_group.clear();
        for ep in endpoints {
            let g = match self.group_of.get(&ep.labels) {
                Some(g) => *g,
                None => {
                    let g = self.groups.len() as u32;
                    self.groups
                        .push(Labels::from_pairs(ep.labels.iter(), &mut table.interner));
                    self.group_of.insert(ep.labels.clone(), g);
                    self.rows.push(BitSet::with_capacity(table.len()));
                    g
                }
            };
            self.entity_group.push(g);
        }
        self.match_new_groups(table, old_groups);
        self.update_selectors(table);
    }

    /// New label groups (from `old_groups` on) × the selectors already matched.
    fn match_new_groups(&mut self, table: &SelectorTable, old_groups: usize) {
        let interner = &table.interner;
        // New groups × old selectors.
        for (labels, row) in self
            .groups
            .iter()
            .zip(self.rows.iter_mut())
            .skip(old_groups)
        {
            for (i, entry) in table.entries.iter().enumerate().take(self.computed) {
                if matches(entry, labels, interner) {
                    row.insert(i);
                }
            }
        }
    }

    /// Matches selectors added to `table` since the last update against every
    /// label group (the endpoints did not change).
    pub fn update_selectors(&mut self, table: &SelectorTable) {
        let interner = &table.interner;
        // All groups × new selectors.
        for (i, entry) in table.entries.iter().enumerate().skip(self.computed) {
            match &entry.compiled {
                None => continue,
                Some(c) if c.is_never() => continue,
                Some(c) if c.is_always() => self.rows.iter_mut().for_each(|r| r.insert(i)),
                Some(_) => {
                    for (labels, row) in self.groups.iter().zip(self.rows.iter_mut()) {
                        if matches(entry, labels, interner) {
                            row.insert(i);
                        }
                    }
                }
            }
        }
        self.computed = table.len();
    }

    /// The SelIds matching an endpoint's labels.
    pub fn row(&self, ep: usize) -> Option<&BitSet> {
        let g = *self.entity_group.get(ep)?;
        self.rows.get(g as usize)
    }

    pub fn endpoint_matches(&self, ep: usize, sel: SelId) -> bool {
        self.row(ep).is_some_and(|r| r.contains(sel.index()))
    }

    pub fn group_count(&self) -> usize {
        self.groups.len()
    }
}

impl MatchIndex {
    /// The label group of an endpoint (endpoints with equal labels share one).
    pub fn group(&self, ep: usize) -> Option<u32> {
        self.entity_group.get(ep).copied()
    }

    /// Endpoint `ep` now has `labels`: replaces its entry, or with `insert` puts a
    /// new entry at `ep` (later endpoints shift up). A new label set is matched
    /// against every selector already matched.
    pub fn set_endpoint(
        &mut self,
        table: &mut SelectorTable,
        ep: usize,
        labels: &LabelMap,
        insert: bool,
    ) {
        let old_groups = self.groups.len();
        let g = match self.group_of.get(labels) {
            Some(g) => *g,
            None => {
                let g = self.groups.len() as u32;
                self.groups
                    .push(Labels::from_pairs(labels.iter(), &mut table.interner));
                self.group_of.insert(labels.clone(), g);
                self.rows.push(BitSet::with_capacity(table.len()));
                g
            }
        };
        if insert {
            self.entity_group.insert(ep.min(self.entity_group.len()), g);
        } else if let Some(slot) = self.entity_group.get_mut(ep) {
            *slot = g;
        }
        self.match_new_groups(table, old_groups);
    }

    /// Forgets endpoint `ep` (later endpoints shift down).
    pub fn remove_endpoint(&mut self, ep: usize) {
        if ep < self.entity_group.len() {
            self.entity_group.remove(ep);
        }
    }

    /// Does `sel` match the labels of `group`?
    pub fn group_matches(&self, group: u32, sel: SelId) -> bool {
        self.rows
            .get(group as usize)
            .is_some_and(|r| r.contains(sel.index()))
    }
}
