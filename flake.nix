{
  description = "Shoal: edge sync platform on Effect — development shell";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in {
      # Node 20 for the workspace (better-sqlite3 12 builds from source with
      # python3 and a C++ toolchain), JDK 17 and Maven for the Kafka test
      # broker of the change-data-capture work (scripts/kafka-broker.sh).
      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          packages = [ pkgs.nodejs_20 pkgs.jdk17 pkgs.maven pkgs.python3 pkgs.gcc pkgs.gnumake pkgs.sqlite ];
        };
      });
    };
}
