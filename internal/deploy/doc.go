// Package deploy holds no code; its tests keep docker-compose.yml and the Dockerfile true to the ipeval binary.
package deploy
