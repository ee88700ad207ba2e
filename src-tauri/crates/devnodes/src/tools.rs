//! Where the node tools are: `scripts/node/node_modules`, installed by scripts/setup.

use std::path::{Path, PathBuf};

use crate::DevnodeError;

/// Paths of the node executables and the Node.js polyfill js-ipfs needs.
#[derive(Debug, Clone)]
pub struct NodeTools {
    /// The `scripts/node` folder.
    pub root: PathBuf,
}

impl NodeTools {
    /// Finds the tools: `$MEDWALLET_NODE_TOOLS` if set, else `scripts/node` of the
    /// workspace this crate was built in.
    pub fn locate() -> Result<Self, DevnodeError> {
        let root = match std::env::var_os("MEDWALLET_NODE_TOOLS") {
            Some(dir) => PathBuf::from(dir),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../scripts/node"),
        };
        let tools = Self { root };
        for (what, path) in [("anvil", tools.anvil()), ("js-ipfs", tools.jsipfs_cli())] {
            if !path.exists() {
                return Err(DevnodeError::MissingTool { what, path });
            }
        }
        Ok(tools)
    }

    /// The anvil binary shipped in its npm package.
    pub fn anvil(&self) -> PathBuf {
        self.root.join("node_modules/.bin/anvil")
    }

    /// js-ipfs's CLI entry point, run with `node`.
    pub fn jsipfs_cli(&self) -> PathBuf {
        self.root.join("node_modules/ipfs/src/cli.js")
    }

    /// The `Promise.withResolvers` polyfill for Node 20.
    pub fn polyfill(&self) -> PathBuf {
        self.root.join("promise-with-resolvers.cjs")
    }
}
