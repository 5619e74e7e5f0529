//! Writing synthetic caltables with the layout of real CASA ones, for benches, the demo and
//! tests that need tables of any size.
//!
//! The columns, their order, types, keywords and the single `StandardStMan` (group
//! `MSMTAB`, arrays stored indirectly with variable shape) follow what CASA 6.7 writes (see
//! `testdata/caltables/README.md`). Rows are ordered like CASA's: per solution time, per
//! spectral window, per antenna. Subtables are not written.

use std::path::Path;

use casacure::record::{
    ArrayData, ArrayValue, DataType, RecordValue, TableRecord, parse_json_record,
};
use casacure::tabledesc::{ColumnDesc, ColumnKind, TableDesc};

use crate::Error;

/// Which kind of solve the synthetic table imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntheticKind {
    /// `gaincal(gaintype='K')`: FPARAM delays in ns, SNR 0 everywhere, one channel.
    Delay,
    /// `bandpass`: CPARAM over `n_chan` channels.
    Bandpass,
    /// `gaincal(gaintype='G')`: CPARAM, one channel.
    Gain,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticSpec {
    /// Total number of rows (solutions).
    pub rows: usize,
    /// Antennas solved per interval and spw.
    pub antennas: usize,
    /// Spectral windows.
    pub spws: usize,
    /// Channels per cell (bandpass only; 1 otherwise).
    pub channels: usize,
    /// The solve imitated.
    pub kind: SyntheticKind,
    /// Seed of the deterministic generator.
    pub seed: u64,
    /// The `MSName` keyword.
    pub ms_name: String,
    /// The `CASA_Version` keyword.
    pub casa_version: String,
}

impl SyntheticSpec {
    /// A gain table of `rows` solutions with 14 antennas and 2 spws, like the real ones.
    pub fn gain(rows: usize) -> Self {
        Self {
            rows,
            antennas: 14,
            spws: 2,
            channels: 1,
            kind: SyntheticKind::Gain,
            seed: 20240611,
            ms_name: "synthetic.ms".to_owned(),
            casa_version: "6.7.0-31".to_owned(),
        }
    }
}

/// A small deterministic generator (splitmix64): no dependency, same tables everywhere.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Approximately normal (sum of four uniforms), mean 0, sd 1.
    fn normal(&mut self) -> f64 {
        ((self.unit() + self.unit() + self.unit() + self.unit()) - 2.0) * 3f64.sqrt()
    }
}

fn record(json: &str) -> TableRecord {
    parse_json_record(json).unwrap_or_default()
}

fn column(name: &str, data_type: DataType, kind: ColumnKind, keywords: &str) -> ColumnDesc {
    let is_array = matches!(kind, ColumnKind::Array);
    ColumnDesc {
        name: name.to_owned(),
        comment: String::new(),
        data_type,
        data_manager_type: "StandardStMan".to_owned(),
        data_manager_group: "MSMTAB".to_owned(),
        // casacore's Direct|Undefined for the scalars CASA writes, 0 for variable arrays.
        options: if is_array { 0 } else { 5 },
        ndim: -1,
        shape: None,
        max_length: 0,
        keywords: record(keywords),
        kind,
        tile_shape: None,
    }
}

fn describe(spec: &SyntheticSpec) -> TableDesc {
    let (par_type, vis_cal, param) = match spec.kind {
        SyntheticKind::Delay => ("Float", "K Jones", ("FPARAM", DataType::Float)),
        SyntheticKind::Bandpass => ("Complex", "B Jones", ("CPARAM", DataType::Complex)),
        SyntheticKind::Gain => ("Complex", "G Jones", ("CPARAM", DataType::Complex)),
    };
    let scalar_int = |name: &str| {
        column(
            name,
            DataType::Int,
            ColumnKind::Scalar(RecordValue::Int(0)),
            "{}",
        )
    };
    let array = |name: &str, t: DataType| column(name, t, ColumnKind::Array, "{}");
    let keywords = serde_json::json!({
        "ParType": par_type,
        "MSName": spec.ms_name,
        "VisCal": vis_cal,
        "PolBasis": "unknown",
        "CASA_Version": spec.casa_version,
    });
    TableDesc {
        name: String::new(),
        version: String::new(),
        comment: String::new(),
        keywords: record(&keywords.to_string()),
        private_keywords: TableRecord::default(),
        columns: vec![
            column(
                "TIME",
                DataType::Double,
                ColumnKind::Scalar(RecordValue::Double(0.0)),
                r#"{"QuantumUnits": ["s"], "MEASINFO": {"type": "epoch", "Ref": "UTC"}}"#,
            ),
            scalar_int("FIELD_ID"),
            scalar_int("SPECTRAL_WINDOW_ID"),
            scalar_int("ANTENNA1"),
            scalar_int("ANTENNA2"),
            column(
                "INTERVAL",
                DataType::Double,
                ColumnKind::Scalar(RecordValue::Double(0.0)),
                r#"{"QuantumUnits": ["s"]}"#,
            ),
            scalar_int("SCAN_NUMBER"),
            scalar_int("OBSERVATION_ID"),
            array(param.0, param.1),
            array("PARAMERR", DataType::Float),
            array("FLAG", DataType::Bool),
            array("SNR", DataType::Float),
            array("WEIGHT", DataType::Float),
        ],
    }
}

/// Writes a synthetic caltable directory at `out` (which must not exist yet).
pub fn write_synthetic_caltable(out: &Path, spec: &SyntheticSpec) -> Result<(), Error> {
    let write_error = |reason: String| Error::Write {
        path: out.to_path_buf(),
        reason,
    };
    if out.exists() {
        return Err(write_error("the path already exists".to_owned()));
    }
    if spec.antennas == 0 || spec.spws == 0 {
        return Err(write_error(
            "antennas and spws must be at least 1".to_owned(),
        ));
    }
    let desc = describe(spec);
    let n_chan = if spec.kind == SyntheticKind::Bandpass {
        spec.channels.max(1)
    } else {
        1
    };
    let n_pol = 2usize;
    let cell = n_pol * n_chan;
    // Logical (row-major) shape as casacure stores it: [nchan, npol].
    let shape = vec![n_chan as u32, n_pol as u32];
    let mut rng = SplitMix(spec.seed);
    let per_interval = spec.antennas * spec.spws;
    let refant = 2.min(spec.antennas - 1) as i32;
    // A fixed per-antenna gain, so solutions look like a real array's.
    let antenna_amp: Vec<f64> = (0..spec.antennas)
        .map(|_| 1.0 + 0.12 * rng.normal())
        .collect();
    let antenna_delay: Vec<f64> = (0..spec.antennas).map(|_| 4.0 * rng.normal()).collect();
    // A few antennas are dead for the whole table (flagged, SNR 0), as in real data.
    let dead: Vec<bool> = (0..spec.antennas).map(|_| rng.unit() < 0.03).collect();

    let mut columns: Vec<Vec<RecordValue>> = (0..desc.columns.len())
        .map(|_| Vec::with_capacity(spec.rows))
        .collect();
    let t0 = 5.2e9;
    for row in 0..spec.rows {
        let interval = row / per_interval;
        let spw = (row / spec.antennas) % spec.spws;
        let ant = row % spec.antennas;
        let time = t0 + 10.0 * interval as f64 + 1e-6 * spw as f64;
        let mut flags = Vec::with_capacity(cell);
        let mut snr = Vec::with_capacity(cell);
        let mut cparam = Vec::with_capacity(cell);
        let mut fparam = Vec::with_capacity(cell);
        for _ in 0..cell {
            let flagged = dead[ant] || rng.unit() < 0.04;
            flags.push(flagged);
            let s = if dead[ant] || spec.kind == SyntheticKind::Delay {
                0.0
            } else {
                (25.0 + 8.0 * rng.normal()).max(0.5)
            };
            snr.push(s as f32);
            let amp = antenna_amp[ant] * (1.0 + 0.02 * rng.normal());
            let phase = if ant as i32 == refant {
                0.0
            } else {
                std::f64::consts::PI * (rng.unit() * 2.0 - 1.0)
            };
            cparam.push(((amp * phase.cos()) as f32, (amp * phase.sin()) as f32));
            fparam.push(if ant as i32 == refant || dead[ant] {
                0.0
            } else {
                (antenna_delay[ant] + 0.1 * rng.normal()) as f32
            });
        }
        let values: [RecordValue; 13] = [
            RecordValue::Double(time),
            RecordValue::Int(0),
            RecordValue::Int(spw as i32),
            RecordValue::Int(ant as i32),
            RecordValue::Int(if spec.kind == SyntheticKind::Delay {
                -1
            } else {
                refant
            }),
            RecordValue::Double(0.0),
            RecordValue::Int(1 + (interval % 4) as i32),
            RecordValue::Int(0),
            match spec.kind {
                SyntheticKind::Delay => array(&shape, ArrayData::Float(fparam)),
                _ => array(&shape, ArrayData::Complex(cparam)),
            },
            array(&shape, ArrayData::Float(vec![0.0; cell])),
            array(&shape, ArrayData::Bool(flags)),
            array(&shape, ArrayData::Float(snr)),
            // CASA leaves WEIGHT undefined in every cell.
            array(&[], ArrayData::Float(Vec::new())),
        ];
        for (column, value) in columns.iter_mut().zip(values) {
            column.push(value);
        }
    }
    casacure::create_table(out, &desc, &columns).map_err(|e| write_error(e.to_string()))?;
    std::fs::write(
        out.join("table.info"),
        format!(
            "Type = Calibration\nSubType = {}\n",
            match spec.kind {
                SyntheticKind::Delay => "K Jones",
                SyntheticKind::Bandpass => "B Jones",
                SyntheticKind::Gain => "G Jones",
            }
        ),
    )
    .map_err(|e| write_error(e.to_string()))?;
    Ok(())
}

fn array(shape: &[u32], data: ArrayData) -> RecordValue {
    RecordValue::Array(ArrayValue {
        shape: shape.to_vec(),
        data,
    })
}
